"""Listening to a SessionEventFeed in a test: what it delivered, how often it resynced, and
waiting (bounded) for either."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from coatcheck.domain.events import SessionEvent

WAIT_SECONDS = 3.0


async def until(condition: Callable[[], bool], seconds: float = WAIT_SECONDS) -> None:
    """Return once `condition()` holds; fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not so within {seconds} s")
        await asyncio.sleep(0.01)


class Heard:
    def __init__(self) -> None:
        self.events: list[SessionEvent] = []
        self.resyncs = 0

    def deliver(self, event: SessionEvent) -> None:
        self.events.append(event)

    def resync(self) -> None:
        self.resyncs += 1


@contextlib.asynccontextmanager
async def listening(feed: Any) -> AsyncIterator[Heard]:
    """The feed listened to, from its first resync (from when nothing is missed) on."""
    heard = Heard()
    task = asyncio.create_task(feed.listen(heard.deliver, heard.resync))
    try:
        await until(lambda: heard.resyncs > 0 or task.done())
        if task.done():
            task.result()  # raises what ended it
        yield heard
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
