"""One claimed outbox entry, delivered: its letter (an order resolved into one first), sent and
marked sent; retried later with a doubling delay, or given up on when it never can be."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from email.message import EmailMessage

from attrs import evolve

from coatcheck.adapters.email.outbox_metrics import OutboxMetrics
from coatcheck.adapters.email.sealed import Sealer
from coatcheck.domain.letters import Letter, Undeliverable
from coatcheck.domain.mail_orders import ResolveOrder
from coatcheck.domain.ports import Clock, EmailSender, OutboxEntry, OutboxStore, ResolvedEntry

log = logging.getLogger("coatcheck.email")

STORE_TRIES = 5  # writing a notice, or marking a letter sent, while the store hiccups

Write = Callable[[Letter, str], EmailMessage]  # a letter and its Message-ID's key


class Delivery:
    """Sends one claimed entry. What the server refused for good (5xx), an entry no key of
    ours opens, and one whose token expired are given up on at once; any other failure is
    retried after `retry_delay(attempts)`, until the entry's `retry_until`."""

    def __init__(
        self,
        store: OutboxStore,
        resolve: ResolveOrder,
        sender: EmailSender,
        write: Write,
        sealer: Sealer,
        clock: Clock,
        metrics: OutboxMetrics,
        retry_delay: Callable[[int], timedelta],
    ) -> None:
        self._store = store
        self._resolve = resolve
        self._sender = sender
        self._write = write
        self._sealer = sealer
        self._clock = clock
        self._metrics = metrics
        self._retry_delay = retry_delay

    async def __call__(self, entry: OutboxEntry) -> bool:
        """Whether the entry left the pending ones (sent, not needed, or given up on)."""
        fields = log_fields(entry)
        try:
            resolved = await self._letter_of(entry)
        except Exception as error:
            return await self._failed_for_now(entry, error)
        if isinstance(resolved, bool):
            return resolved
        entry, letter = resolved
        now = self._clock.now()
        if entry.expires_at is not None and now >= entry.expires_at:
            return await self._give_up(entry, "expired", erase=True)
        try:
            await self._sender.send(self._write(letter, str(entry.id)))
        except Undeliverable as error:
            return await self._give_up(entry, "refused", erase=False, error=str(error))
        except Exception as error:
            return await self._failed_for_now(entry, error)
        if not await stubbornly(lambda: self._store.sent(entry, self._clock.now())):
            log.error("email sent, not marked sent: may be sent again", extra=fields)
        self._metrics.sent.inc()
        log.info("email sent", extra=fields)
        return True

    async def _letter_of(self, entry: OutboxEntry) -> tuple[OutboxEntry, Letter] | bool:
        """The entry's letter (resolving an order first); if there is nothing to send, whether
        the entry left the pending ones."""
        assert entry.content is not None
        try:
            content = self._sealer.open(entry.id, entry.content)
        except ValueError:  # InvalidValue: another key's, or another entry's
            return await self._give_up(entry, "unreadable", erase=True)
        if isinstance(content, Letter):
            return entry, content
        resolution = await self._resolve(content)
        if resolution is None:
            await self._store.discard(entry)
            log.info("email not needed", extra=log_fields(entry))
            return True
        letter, token = resolution.letter, resolution.token
        resolved = ResolvedEntry(
            kind=letter.kind.value,
            recipient=letter.to.value,
            content=self._sealer.seal(entry.id, letter),
            expires_at=expiry(letter),
            token_digest=None if token is None else token.digest,
            token=None if token is None else token.record,
        )
        if not await self._store.resolve(entry, resolved, self._clock.now()):
            log.info("email not needed", extra=log_fields(entry))
            return False
        return evolve(
            entry, kind=resolved.kind, recipient=resolved.recipient, expires_at=resolved.expires_at
        ), letter

    async def _failed_for_now(self, entry: OutboxEntry, error: Exception) -> bool:
        """Retried later (False), or given up on past its `retry_until` (True)."""
        now = self._clock.now()
        at = now + self._retry_delay(entry.attempts)
        if at > entry.retry_until:
            return await self._give_up(entry, "gave-up", erase=False, error=type(error).__name__)
        fields = {
            **log_fields(entry),
            "error": type(error).__name__,
            "retry_in": (at - now).seconds,
        }
        try:
            await self._store.retry(entry, at, type(error).__name__)
        except Exception:  # its lease ends by itself
            log.warning("email not sent, retrying after its lease", extra=fields)
        else:
            log.warning("email not sent, retrying", extra=fields)
        self._metrics.retried.inc()
        return False

    async def _give_up(
        self, entry: OutboxEntry, reason: str, erase: bool, error: str | None = None
    ) -> bool:
        with contextlib.suppress(Exception):  # else its lease ends and it is tried again
            await self._store.fail(entry, self._clock.now(), error or reason, erase)
        self._metrics.failed.labels(reason).inc()
        log.error("email not sent, given up", extra={**log_fields(entry), "reason": reason})
        return True


async def stubbornly(step: Callable[[], Awaitable[None]]) -> bool:
    """Run `step` until it succeeds, STORE_TRIES times at most; False if it never did."""
    delay = 0.2
    for _ in range(STORE_TRIES):
        try:
            await step()
            return True
        except Exception:
            await asyncio.sleep(delay)
            delay *= 2
    return False


def expiry(letter: Letter) -> datetime | None:
    if letter.token is None or letter.valid_for is None:
        return None
    return letter.at + letter.valid_for


def log_fields(entry: OutboxEntry) -> dict[str, object]:
    return {
        "request_id": entry.request_id,
        "letter": entry.kind,
        "entry": str(entry.id),
        "attempt": entry.attempts,
    }
