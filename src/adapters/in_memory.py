"""Dict-backed users, sessions, log-in attempts, one-time tokens and known devices, and an
outbox and an email sender that keep what they are given: real implementations of the
ports, for unit tests and in-process use."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from email.message import EmailMessage

from attrs import evolve

from domain.errors import EmailTaken
from domain.events import SessionEvent
from domain.letters import Letter
from domain.model import Email, PublicUser, Session, User
from domain.ports import Compose, StoredSession
from domain.tokens import TokenPurpose, TokenRecord


class InMemoryUsers:
    """`belongings`: the stores of what a user owns (tokens, devices), emptied of a removed
    user's, as the other user stores delete them with the user."""

    def __init__(self, *belongings: InMemoryAccountTokens | InMemoryKnownDevices) -> None:
        self.by_id: dict[uuid.UUID, User] = {}
        self.pending: dict[uuid.UUID, User] = {}
        self._belongings = belongings

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

    async def verify_email(self, user_id: uuid.UUID, email: Email) -> User | None:
        user = self.by_id.get(user_id)
        if user is None or user.email != email:
            return None
        self.by_id[user_id] = evolve(user, email_verified=True)
        return self.by_id[user_id]

    async def change_email(self, user_id: uuid.UUID, email: Email, replacing: Email) -> User | None:
        user = self.by_id.get(user_id)
        if user is None or user.email != replacing:
            return None
        if any(other.email == email for other in self.by_id.values() if other.id != user_id):
            raise EmailTaken()
        self.by_id[user_id] = evolve(user, email=email, email_verified=True)
        return self.by_id[user_id]

    async def remove(self, user_id: uuid.UUID) -> bool:
        for belonging in self._belongings:
            belonging.forget(user_id)
        return self.by_id.pop(user_id, None) is not None

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
        stored = self.by_digest.get(digest)
        if stored is None:
            return False
        self.writes += 1
        self.by_digest[digest] = evolve(session, user=stored.user)
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

    async def update_user(self, user: PublicUser) -> int:
        rewritten = 0
        for digest, session in self.by_digest.items():
            if session.user_id == user.id and session.user is not None:
                self.by_digest[digest] = evolve(session, user=user)
                rewritten += 1
        self.writes += 1
        return rewritten

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


class InMemoryAccountTokens:
    def __init__(self) -> None:
        self.by_digest: dict[str, TokenRecord] = {}

    async def issue(self, digest: str, record: TokenRecord, now: datetime) -> None:
        self.by_digest = {
            other: kept
            for other, kept in self.by_digest.items()
            if kept.is_live(now)
            and (kept.user_id, kept.purpose) != (record.user_id, record.purpose)
        }
        self.by_digest[digest] = record

    async def take(self, digest: str, purpose: TokenPurpose) -> TokenRecord | None:
        record = self.by_digest.get(digest)
        if record is None or record.purpose is not purpose:
            return None
        return self.by_digest.pop(digest)

    async def discard(self, user_id: uuid.UUID, purposes: Sequence[TokenPurpose]) -> None:
        for digest, record in list(self.by_digest.items()):
            if record.user_id == user_id and record.purpose in purposes:
                del self.by_digest[digest]

    def forget(self, user_id: uuid.UUID) -> None:
        self.by_digest = {d: r for d, r in self.by_digest.items() if r.user_id != user_id}


class InMemoryKnownDevices:
    def __init__(self) -> None:
        self.by_user: dict[uuid.UUID, set[str]] = {}

    async def remember(self, user_id: uuid.UUID, fingerprint: str, now: datetime) -> bool:
        known = self.by_user.setdefault(user_id, set())
        new = fingerprint not in known and bool(known)
        known.add(fingerprint)
        return new

    def forget(self, user_id: uuid.UUID) -> None:
        self.by_user.pop(user_id, None)


class InMemoryOutbox:
    """Keeps the letters posted; what is posted for later runs at `settle()`."""

    def __init__(self, delivers: bool = True) -> None:
        self.letters: list[Letter] = []
        self._delivers = delivers
        self._later: list[Compose] = []

    @property
    def delivers(self) -> bool:
        return self._delivers

    def post(self, letter: Letter) -> None:
        if self._delivers:
            self.letters.append(letter)

    def post_later(self, compose: Compose) -> None:
        self._later.append(compose)

    async def settle(self) -> None:
        while self._later:
            letter = await self._later.pop(0)()
            if letter is not None:
                self.post(letter)


class InMemoryEmailSender:
    """Keeps the messages it is given; fails the first `failures` sends, for tests of retries."""

    def __init__(self, failures: int = 0) -> None:
        self.messages: list[EmailMessage] = []
        self.failures = failures

    async def send(self, message: EmailMessage) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("the in-memory sender was told to fail")
        self.messages.append(message)
