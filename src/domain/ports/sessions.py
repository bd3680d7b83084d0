"""The sessions' store: sessions, their events, milestones and log-in attempts."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from attrs import frozen

from coatcheck.domain.events import SessionEvent
from coatcheck.domain.model import PublicUser, Session


@frozen
class StoredSession:
    """A session and its handle in the store: the digest of its ticket, or the part of it
    that the store keys the session by. remove() and remove_of_user(keep=) take either."""

    digest: str
    session: Session


class Sessions(Protocol):
    """Sessions keyed by the HMAC digest of their ticket, with a per-user index."""

    async def add(self, digest: str, session: Session) -> None: ...

    async def get(self, digest: str) -> Session | None: ...

    async def replace(self, digest: str, session: Session) -> bool:
        """Renew a session that still exists (its times); False (and no write) if it is gone.
        Its user card is never written back: update_user may have changed it meanwhile."""
        ...

    async def remove(self, digest: str) -> None: ...

    async def of_user(self, user_id: uuid.UUID, now: datetime) -> Sequence[StoredSession]:
        """The user's live sessions; expired ones are pruned from the index."""
        ...

    async def remove_of_user(self, user_id: uuid.UUID, keep: str | None = None) -> int:
        """Remove every session of the user but `keep`; return how many were removed."""
        ...

    async def update_user(self, user: PublicUser) -> int:
        """Rewrite the user card of each of the user's sessions (keeping each one's expiry,
        never bringing back one removed meanwhile); return how many were rewritten. Sessions
        without a card (written before sessions carried one) are left as they are."""
        ...


class Milestones(Protocol):
    """Moments a deployment records once, in the sessions' store, shared by every instance and
    every restart: the first moment stored under a name stays."""

    async def first(self, name: str, moment: datetime) -> datetime:
        """The moment stored under `name`; `moment`, stored now, if there was none."""
        ...


class SessionEvents(Protocol):
    """Announces what happens to sessions to every listener of the store, on every instance."""

    async def publish(self, event: SessionEvent) -> None:
        """Never raises for an outage: what the event announces has already happened in the
        store. A lost event is logged; listeners re-check what they watch whenever their own
        connection comes back, and every session watched is checked again at its deadline."""


class SessionEventFeed(Protocol):
    """The listening side of SessionEvents: what a process that watches sessions reads."""

    async def listen(
        self, deliver: Callable[[SessionEvent], None], resync: Callable[[], None]
    ) -> None:
        """Deliver every event published from now on, in order, until cancelled; call
        `resync` each time listening (re)starts, after which nothing is missed: events
        published while it was not listening may have been lost."""


class LoginAttempts(Protocol):
    """Attempt counts and lock-outs by throttle key (an account, a device on an account, an
    address), and the devices known on accounts, by owner (a user's id) so that an account's
    devices can all be forgotten at once."""

    async def locked_until(self, keys: Sequence[str]) -> datetime | None:
        """The latest lock-out deadline among the keys, if any is locked."""
        ...

    async def record_failure(
        self, key: str, window: timedelta, now: datetime, sliding: bool = False
    ) -> int:
        """Count one attempt; return the count within the window that began with the first
        or, if `sliding`, of the attempts since the key last went a whole window without."""
        ...

    async def claim_lock(self, key: str, until: datetime, now: datetime) -> bool:
        """Atomically lock the key until `until`, unless a lock that outlasts `now` holds it;
        True when this call took the lock."""
        ...

    async def clear(self, key: str) -> None:
        """Forget the key's count and lock (not whether it is trusted)."""

    async def trust(self, owner: str, device: str, until: datetime, now: datetime) -> None:
        """Remember the device as known on the owner's account until `until` (and forget
        the owner's devices whose trust ended by `now`)."""

    async def trusted(self, owner: str, device: str, now: datetime) -> bool:
        """Whether the device is known on the owner's account at `now`."""
        ...

    async def forget_devices(self, owner: str, keep: str | None = None) -> None:
        """Forget every device known on the owner's account, but `keep` (if it is known)."""
