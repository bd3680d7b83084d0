"""Letters: the outbox the domain posts to, its durable store, and the sender behind it."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Protocol

from attrs import field, frozen

from coatcheck.domain.letters import Letter, LetterOrder
from coatcheck.domain.tokens import TokenRecord


class EmailSender(Protocol):
    async def send(self, message: EmailMessage) -> None:
        """Hand the message over for delivery; raise if it could not be."""


Compose = Callable[[], Awaitable[Letter | None]]


class Outbox(Protocol):
    """Letters leave after the answer, off the request's path, from a durable store."""

    @property
    def delivers(self) -> bool:
        """False when no email backend is configured: letters are then dropped."""
        ...

    async def order(self, order: LetterOrder) -> None:
        """Store the order durably now (the letter will be sent, across outages and restarts);
        the outbox's worker resolves it into its letter."""

    def post(self, letter: Letter) -> None:
        """Store the letter right after the answer (a notice: nothing waits for it)."""

    def post_later(self, compose: Compose) -> None:
        """Run `compose` after the answer and store the letter it returns, if any: its look-ups
        and writes stay off the request's path too (so that its time tells nothing)."""

    async def settle(self) -> None:
        """Return once everything posted so far is sent, or waits for a retry (tests)."""


class EntryState(enum.Enum):
    PENDING = "pending"  # to be sent (an order or a letter)
    SENT = "sent"  # its content erased; kept for a while, for the operator
    FAILED = "failed"  # refused for good, given up on or expired; an operator may retry it


@frozen
class OutboxEntry:
    """One letter (or the order it comes from) in the outbox. `content` is sealed by the
    outbox (encrypted under a key the store never sees), and None once erased."""

    id: uuid.UUID
    kind: str  # the order's or letter's kind, for the operator
    recipient: str | None  # None until resolved, for an order that names no address
    content: bytes | None = field(repr=False)
    request_id: str | None  # the request that wrote it, for its log lines
    created_at: datetime
    retry_until: datetime  # transient failures are retried until then
    expires_at: datetime | None = None  # the end of its token's life: then, never sent
    state: EntryState = EntryState.PENDING
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None  # an error's class or SMTP code: never its text
    claim: uuid.UUID | None = None  # set by claim(): whoever holds its lease


@frozen
class ResolvedEntry:
    """What an order became: its letter, sealed, and the token that letter carries."""

    kind: str
    recipient: str
    content: bytes = field(repr=False)
    expires_at: datetime | None = None
    token_digest: str | None = None
    token: TokenRecord | None = None


class OutboxStore(Protocol):
    """The outbox's entries, in the users' store (so that a letter is stored in the same
    transaction as the token it carries). Claims are leases: an entry claimed is claimed by
    no one else (on any process or instance) until its lease ends, so a worker that died
    holding it gives it back by itself."""

    async def add(self, entry: OutboxEntry) -> None: ...

    async def claim(self, now: datetime, lease: timedelta, limit: int) -> list[OutboxEntry]:
        """Up to `limit` pending entries due at `now` (soonest first) and not leased, each
        leased for `lease` under a new `claim`, its attempts counted."""
        ...

    async def resolve(self, claimed: OutboxEntry, resolved: ResolvedEntry, now: datetime) -> bool:
        """Replace the claimed order by its letter and store the letter's token (dropping the
        user's other tokens of its purpose), in one transaction; False, and no write, if the
        claim was lost or the token's user is gone."""
        ...

    async def discard(self, claimed: OutboxEntry) -> None:
        """Remove a claimed entry that turned out to have nothing to send."""

    async def sent(self, claimed: OutboxEntry, now: datetime) -> None:
        """Mark it sent and erase its content (if the claim still holds)."""

    async def retry(self, claimed: OutboxEntry, at: datetime, error: str) -> None:
        """Give up the lease; the entry is due again at `at`."""

    async def fail(self, claimed: OutboxEntry, now: datetime, error: str, erase: bool) -> None:
        """Mark it failed (its content erased if `erase`: its token is expired)."""

    async def requeue(self, entry_id: uuid.UUID, now: datetime, retry_until: datetime) -> bool:
        """An operator's retry: a failed or waiting entry is due now; False if none, or if its
        content is erased (a letter whose token expired cannot be sent again)."""
        ...

    async def drop(self, entry_id: uuid.UUID) -> bool:
        """An operator's removal of a waiting or failed entry; False if there is none."""
        ...

    async def entries(self, limit: int) -> list[OutboxEntry]:
        """Pending and failed entries, oldest first, their content left out."""
        ...

    async def depth(self) -> tuple[int, datetime | None]:
        """How many entries are pending, and when the oldest of them was created."""
        ...

    async def purge(self, now: datetime, before: datetime) -> int:
        """Delete the entries sent or failed before `before`; erase every entry whose token
        has expired at `now` (a pending one is failed, "expired"). Return how many were
        deleted."""
