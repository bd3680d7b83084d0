"""The outbox: letters leave after the answer, off the request's path, with retries.

A bounded in-process queue and a few workers. A worker writes a letter (running what was
posted for later: its look-ups and writes), then sends it, each step retried with a
doubling delay. A full queue drops what is posted, with a log line; at shutdown the queue
is drained for a bounded time. No log line holds a token, an address or an error's text
(which may quote either): only the letter's kind and the error's type.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from email.message import EmailMessage
from typing import TypeVar

from coatcheck.domain.letters import Letter
from coatcheck.domain.ports import Compose, EmailSender

log = logging.getLogger("coatcheck.email")
_T = TypeVar("_T")

CAPACITY = 1000
WORKERS = 4
ATTEMPTS = 5
FIRST_DELAY_SECONDS = 1.0
MAX_DELAY_SECONDS = 30.0
DRAIN_SECONDS = 5.0


def _ready(letter: Letter) -> Compose:
    async def compose() -> Letter:
        return letter

    return compose


class Outbox:
    """With no sender (no email backend), letters are written and dropped: what writing
    them records (a known device) is still recorded."""

    def __init__(
        self,
        sender: EmailSender | None,
        write: Callable[[Letter], EmailMessage],
        *,
        capacity: int = CAPACITY,
        workers: int = WORKERS,
        attempts: int = ATTEMPTS,
        first_delay: float = FIRST_DELAY_SECONDS,
        max_delay: float = MAX_DELAY_SECONDS,
    ) -> None:
        self._sender = sender
        self._write = write
        self._queue: asyncio.Queue[Compose] = asyncio.Queue(capacity)
        self._workers = workers
        self._attempts = attempts
        self._first_delay = first_delay
        self._max_delay = max_delay
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False

    @property
    def delivers(self) -> bool:
        return self._sender is not None

    def post(self, letter: Letter) -> None:
        self.post_later(_ready(letter))

    def post_later(self, compose: Compose) -> None:
        if self._closed:
            log.warning("email dropped: the outbox is closed")
            return
        if not self._tasks:
            self._start()
        try:
            self._queue.put_nowait(compose)
        except asyncio.QueueFull:
            log.warning(
                "email dropped: the outbox is full", extra={"capacity": self._queue.maxsize}
            )

    def _start(self) -> None:
        self._tasks = [asyncio.create_task(self._work()) for _ in range(self._workers)]

    async def settle(self) -> None:
        """Return once everything posted so far has been sent or given up on."""
        await self._queue.join()

    async def close(self, drain_seconds: float = DRAIN_SECONDS) -> None:
        """Stop taking letters, send what is queued (for at most `drain_seconds`), stop."""
        self._closed = True
        try:
            async with asyncio.timeout(drain_seconds):
                await self._queue.join()
        except TimeoutError:
            log.warning("email dropped at shutdown", extra={"unsent": self._queue.qsize()})
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def _work(self) -> None:
        while True:
            compose = await self._queue.get()
            try:
                await self._deliver(compose)
            except Exception:  # a worker outlives any one letter
                log.exception("email: unexpected failure")
            finally:
                self._queue.task_done()

    async def _deliver(self, compose: Compose) -> None:
        letter = await self._retrying(compose, "email not written", None)
        if letter is None or self._sender is None:
            return
        message = self._write(letter)
        sender = self._sender
        if await self._retrying(lambda: _sent(sender, message), "email not sent", letter):
            log.info("email sent", extra={"letter": letter.kind.value})

    async def _retrying(
        self, step: Callable[[], Awaitable[_T]], failure: str, letter: Letter | None
    ) -> _T | None:
        delay = self._first_delay
        for attempt in range(1, self._attempts + 1):
            try:
                return await step()
            except Exception as error:
                fields = {"attempt": attempt, "error": type(error).__name__}
                if letter is not None:
                    fields["letter"] = letter.kind.value
                if attempt == self._attempts:
                    log.error(failure + ", given up", extra=fields)
                    return None
                log.warning(failure + ", retrying", extra=fields)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_delay)
        return None


async def _sent(sender: EmailSender, message: EmailMessage) -> bool:
    await sender.send(message)
    return True
