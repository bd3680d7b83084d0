"""The outbox: every letter is stored in the users' store before anything waits for it, and
sent by one worker per process, across SMTP outages, restarts and instances.

- An order (a password reset, a verification, a change of email) is stored by the request
  itself, the same whoever is behind the address; the worker resolves it into its letter and
  stores that letter with its token in one transaction. A notice is stored right after the
  answer.
- Contents are sealed (AES-GCM, a key the store never sees); a sent letter's is erased.
- The worker claims due entries under a lease (no other process or instance takes them
  meanwhile; one that died gives them back when the lease ends), sends several at once (a
  slow or refusing recipient holds up no other), retries what failed for a while with a
  doubling delay until `retry_for` has passed, never retries what the server refused for
  good (5xx), and keeps each letter's Message-ID across retries.
- It runs in a context of its own: its log lines carry the id of the request that wrote
  each letter, never an address, a token or an error's text.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import random
import time
import uuid
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any

from attrs import frozen

from coatcheck.adapters.email.delivery import Delivery, Write, expiry, log_fields, stubbornly
from coatcheck.adapters.email.outbox_metrics import OutboxMetrics
from coatcheck.adapters.email.sealed import Sealer
from coatcheck.domain.letters import Letter, LetterOrder
from coatcheck.domain.mail_orders import ResolveOrder
from coatcheck.domain.ports import Clock, Compose, EmailSender, OutboxEntry, OutboxStore

log = logging.getLogger("coatcheck.email")

HOUSEKEEPING_SECONDS = 5.0


@frozen
class OutboxPolicy:
    retry_for: timedelta = timedelta(hours=24)
    first_delay: timedelta = timedelta(seconds=2)
    max_delay: timedelta = timedelta(minutes=5)
    lease: timedelta = timedelta(minutes=2)  # longer than any one send can take
    retention: timedelta = timedelta(days=7)  # sent and failed entries are kept this long
    sends: int = 8  # sent at once by one process
    poll_seconds: float = 1.0  # how often the store is asked for due entries when idle
    drain_seconds: float = 10.0  # at shutdown, sends in flight are waited for this long

    def delay(self, attempts: int) -> timedelta:
        """Before the next try, after `attempts` failed ones: doubling, jittered by +-20%."""
        base: timedelta = min(self.first_delay * 2 ** min(attempts - 1, 30), self.max_delay)
        return base * random.uniform(0.8, 1.2)  # noqa: S311 -- spreading retries, not a secret


class Outbox:
    """With no sender (no email backend), letters are dropped: what composing them records (a
    known device) is still recorded."""

    def __init__(
        self,
        store: OutboxStore,
        resolve: ResolveOrder,
        sender: EmailSender | None,
        write: Write,
        sealer: Sealer,
        clock: Clock,
        metrics: OutboxMetrics,
        policy: OutboxPolicy,
        request_id: Callable[[], str | None] = lambda: None,
    ) -> None:
        self._store = store
        self._sealer = sealer
        self._clock = clock
        self._metrics = metrics
        self._policy = policy
        self._request_id = request_id
        self._delivery = (
            None
            if sender is None
            else Delivery(store, resolve, sender, write, sealer, clock, metrics, policy.delay)
        )
        self._posting: set[asyncio.Task[None]] = set()
        self._sending: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._claiming = asyncio.Lock()
        self._worker: asyncio.Task[None] | None = None
        self._housekept = 0.0
        self._dirty = False

    @property
    def delivers(self) -> bool:
        return self._delivery is not None

    # What use-cases call.

    async def order(self, order: LetterOrder) -> None:
        entry_id = uuid.uuid4()
        to = None if order.to is None else order.to.value
        sealed = self._sealer.seal(entry_id, order)
        await self._store.add(self._entry(entry_id, order.kind.value, to, sealed, None))
        self._wake.set()

    def post(self, letter: Letter) -> None:
        self._spawn(self._posting, self._add_letter(letter, self._request_id()))

    def post_later(self, compose: Compose) -> None:
        self._spawn(self._posting, self._composed(compose, self._request_id()))

    async def settle(self) -> None:
        """Send everything due now, here, and wait for what is in flight (tests)."""
        while True:
            await asyncio.gather(*self._posting, *self._sending, return_exceptions=True)
            claimed = await self._claim(self._policy.sends) if self.delivers else []
            if not claimed and not self._posting and not self._sending:
                break
        await self._housekeep()

    # The worker.

    def start(self) -> None:
        """Start this process's worker (once; none without a sender), in a context of its own:
        no request's id or deadline leaks into it."""
        if self._worker is None and self.delivers:
            self._worker = asyncio.create_task(self._run(), context=contextvars.Context())

    async def close(self) -> None:
        """Stop claiming; wait (bounded) for the letters being stored and sent. A send cut
        short keeps its lease: the entry is sent again once the lease ends."""
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None
        pending = self._posting | self._sending
        if pending:
            _done, late = await asyncio.wait(pending, timeout=self._policy.drain_seconds)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
            if late:
                log.warning("email: shutdown cut sends short", extra={"unfinished": len(late)})

    async def _run(self) -> None:
        while True:
            claimed: list[OutboxEntry] = []
            free = self._policy.sends - len(self._sending)
            try:
                if self._dirty or time.monotonic() - self._housekept > HOUSEKEEPING_SECONDS:
                    await self._housekeep()
                if free > 0:
                    claimed = await self._claim(free)
            except Exception as error:  # the store's own watch logs an outage
                log.debug("email: outbox store failed", extra={"error": type(error).__name__})
            if claimed and len(claimed) == free:
                continue  # more may be due
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._policy.poll_seconds):
                    await self._wake.wait()

    async def _claim(self, limit: int) -> list[OutboxEntry]:
        """Claim and start sending: one step, so that settle() never finds entries claimed
        and not yet being sent."""
        async with self._claiming:
            claimed = await self._store.claim(self._clock.now(), self._policy.lease, limit)
            for entry in claimed:
                self._spawn(self._sending, self._process(entry))
            return claimed

    async def _housekeep(self) -> None:
        now = self._clock.now()
        await self._store.purge(now, now - self._policy.retention)
        depth, oldest = await self._store.depth()
        self._metrics.depth.set(depth)
        self._metrics.oldest_age.set(0 if oldest is None else (now - oldest).total_seconds())
        self._housekept, self._dirty = time.monotonic(), False

    def _spawn(self, tasks: set[asyncio.Task[None]], work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work, context=contextvars.Context())
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        task.add_done_callback(lambda _: self._wake.set())

    async def _process(self, entry: OutboxEntry) -> None:
        assert self._delivery is not None  # entries are claimed only where it delivers
        if await self._delivery(entry):
            self._dirty = True

    # What it stores.

    def _entry(
        self,
        entry_id: uuid.UUID,
        kind: str,
        recipient: str | None,
        sealed: bytes,
        expires_at: datetime | None,
        request_id: str | None = None,
    ) -> OutboxEntry:
        now = self._clock.now()
        return OutboxEntry(
            id=entry_id,
            kind=kind,
            recipient=recipient,
            content=sealed,
            request_id=request_id if request_id is not None else self._request_id(),
            created_at=now,
            retry_until=now + self._policy.retry_for,
            expires_at=expires_at,
            next_attempt_at=now,
        )

    async def _composed(self, compose: Compose, request_id: str | None) -> None:
        try:
            letter = await compose()
        except Exception as error:
            fields = {"request_id": request_id, "error": type(error).__name__}
            log.warning("email not written", extra=fields)
            return
        if letter is not None:
            await self._add_letter(letter, request_id)

    async def _add_letter(self, letter: Letter, request_id: str | None) -> None:
        if not self.delivers:
            return
        entry_id = uuid.uuid4()
        entry = self._entry(
            entry_id,
            letter.kind.value,
            letter.to.value,
            self._sealer.seal(entry_id, letter),
            expiry(letter),
            request_id,
        )
        if await stubbornly(lambda: self._store.add(entry)):
            self._wake.set()
        else:
            log.error("email lost: not stored", extra=log_fields(entry))
