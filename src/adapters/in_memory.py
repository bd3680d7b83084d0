"""Dict-backed users, sessions and log-in attempts: real implementations of the ports,
for unit tests and in-process use."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from attrs import evolve

from domain.errors import EmailTaken
from domain.events import SessionEvent
from domain.model import Email, Session, User
from domain.ports import StoredSession


class InMemoryUsers:
    def __init__(self) -> None:
        self.by_id: dict[uuid.UUID, User] = {}
        self.pending: dict[uuid.UUID, User] = {}

    async def add(self, user: User) -> None:
        if any(existing.email == user.email for existing in self.by_id.values()):
            raise EmailTaken()
        self.by_id[user.id] = user

    async def add_pending(self, user: User) -> None:
        if any(existing.email == user.email for existing in self.by_id.values()):
            raise EmailTaken()
        for other in [other for other in self.pending.values() if other.email == user.email]:
            del self.pending[other.id]
        self.pending[user.id] = user

    async def confirm(self, user_id: uuid.UUID) -> bool:
        user = self.pending.pop(user_id, None)
        if user is None:
            return False
        await self.add(user)
        return True

    async def get(self, user_id: uuid.UUID) -> User | None:
        return self.by_id.get(user_id)

    async def by_email(self, email: Email) -> User | None:
        return next((user for user in self.by_id.values() if user.email == email), None)

    async def set_password_hash(
        self, user_id: uuid.UUID, password_hash: str, replacing: str
    ) -> bool:
        user = self.by_id.get(user_id)
        if user is None or user.password_hash != replacing:
            return False
        self.by_id[user_id] = evolve(user, password_hash=password_hash)
        return True

    async def ping(self) -> None:
        return None


class InMemorySessions:
    """Counts its writes, so tests can prove the hot path does not write."""

    def __init__(self) -> None:
        self.by_digest: dict[str, Session] = {}
        self.writes = 0

    async def add(self, digest: str, session: Session) -> None:
        self.writes += 1
        self.by_digest[digest] = session

    async def get(self, digest: str) -> Session | None:
        return self.by_digest.get(digest)

    async def replace(self, digest: str, session: Session) -> bool:
        if digest not in self.by_digest:
            return False
        self.writes += 1
        self.by_digest[digest] = session
        return True

    async def remove(self, digest: str) -> None:
        self.writes += 1
        self.by_digest.pop(digest, None)

    async def of_user(self, user_id: uuid.UUID, now: datetime) -> Sequence[StoredSession]:
        for digest, session in list(self.by_digest.items()):
            if session.user_id == user_id and not session.is_live(now):
                del self.by_digest[digest]
        return [
            StoredSession(digest, session)
            for digest, session in self.by_digest.items()
            if session.user_id == user_id
        ]

    async def remove_of_user(self, user_id: uuid.UUID, keep: str | None = None) -> int:
        doomed = [
            digest
            for digest, session in self.by_digest.items()
            if session.user_id == user_id and digest != keep
        ]
        for digest in doomed:
            del self.by_digest[digest]
        self.writes += 1
        return len(doomed)

    async def ping(self) -> None:
        return None


class RecordedEvents:
    """Every event, as (name, details): what an operator would have been told."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, object]]] = []

    def registered(self, user: User) -> None:
        self.seen.append(("registered", {"user_id": user.id}))

    def logged_in(self, user: User, session: Session) -> None:
        self.seen.append(("logged_in", {"user_id": user.id, "kind": session.kind.value}))

    def log_in_failed(self, reason: str) -> None:
        self.seen.append(("log_in_failed", {"reason": reason}))

    def throttled(self, scope: str, retry_after_seconds: int) -> None:
        self.seen.append(("throttled", {"scope": scope, "retry_after": retry_after_seconds}))

    def sessions_ended(self, user_id: uuid.UUID | None, count: int, reason: str) -> None:
        self.seen.append(("sessions_ended", {"user_id": user_id, "count": count, "reason": reason}))

    def names(self) -> list[str]:
        return [name for name, _ in self.seen]


class InMemoryLoginAttempts:
    def __init__(self) -> None:
        self.failures: dict[str, tuple[int, datetime]] = {}  # key -> (count, window end)
        self.locks: dict[str, datetime] = {}
        self.trusted_until: dict[str, datetime] = {}

    async def locked_until(self, keys: Sequence[str]) -> datetime | None:
        return max((self.locks[key] for key in keys if key in self.locks), default=None)

    async def record_failure(
        self, key: str, window: timedelta, now: datetime, sliding: bool = False
    ) -> int:
        count, ends = self.failures.get(key, (0, now + window))
        if ends <= now:
            count, ends = 0, now + window
        self.failures[key] = (count + 1, now + window if sliding else ends)
        return count + 1

    async def claim_lock(self, key: str, until: datetime, now: datetime) -> bool:
        if key in self.locks and self.locks[key] > now:
            return False
        self.locks[key] = until
        return True

    async def clear(self, key: str) -> None:
        self.failures.pop(key, None)
        self.locks.pop(key, None)

    async def trust(self, key: str, until: datetime) -> None:
        self.trusted_until[key] = until

    async def trusted(self, key: str, now: datetime) -> bool:
        return key in self.trusted_until and now < self.trusted_until[key]


class InMemorySessionEvents:
    """Delivers to the listeners of this one object, in process; keeps what was published."""

    def __init__(self) -> None:
        self.published: list[SessionEvent] = []
        self._listeners: list[Callable[[SessionEvent], None]] = []

    async def publish(self, event: SessionEvent) -> None:
        self.published.append(event)
        for deliver in list(self._listeners):
            deliver(event)

    async def listen(
        self, deliver: Callable[[SessionEvent], None], resync: Callable[[], None]
    ) -> None:
        self._listeners.append(deliver)
        try:
            resync()
            await asyncio.Event().wait()  # until cancelled
        finally:
            self._listeners.remove(deliver)
