"""Reads that arrive together share one MGET.

The first read of a tick schedules a flush for the end of the tick (call_soon runs it
after the callbacks already queued, which is where the other requests of the tick are);
every read of the tick joins it. While MAX_IN_FLIGHT fetches are on their way, a flush
waits: the reads that arrive meanwhile gather, and go as one batch as soon as a fetch
answers (group commit). Under load, batches grow with the load instead of the number of
round trips; when idle, a read goes at the end of its tick as before.

Every read is sent after it was asked for, so it sees every write that was made before it
(a revocation included). No value is ever kept past its answer: this is batching, not
caching.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from coatcheck.adapters.running_loop import RunningLoop

MAX_BATCH = 512  # keys of one fetch; a fuller batch goes at once, whatever is in flight
MAX_IN_FLIGHT = 2  # fetches on their way at once, before the next batch waits for one
Fetch = Callable[[list[Any]], Awaitable[Sequence[Any]]]


class TickBatcher:
    def __init__(self, fetch: Fetch, max_in_flight: int = MAX_IN_FLIGHT) -> None:
        self._fetch = fetch
        self._max_in_flight = max_in_flight
        self._keys: list[Any] = []
        self._waiters: list[asyncio.Future[Any]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop = RunningLoop()

    def get(self, key: Any) -> asyncio.Future[Any]:
        loop = self._loop.get()
        if not self._keys:
            loop.call_soon(self._flush)
        waiter: asyncio.Future[Any] = loop.create_future()
        self._keys.append(key)
        self._waiters.append(waiter)
        if len(self._keys) >= MAX_BATCH:
            self._send()
        return waiter

    def _flush(self) -> None:
        """At the end of a tick: send what gathered, unless enough fetches are on their way
        (the first of them to answer sends it)."""
        if len(self._tasks) < self._max_in_flight:
            self._send()

    def _send(self) -> None:
        if not self._keys:
            return
        keys, waiters = self._keys, self._waiters
        self._keys, self._waiters = [], []
        task = asyncio.get_running_loop().create_task(self._run(keys, waiters))
        self._tasks.add(task)  # held until done: the loop keeps only weak references
        task.add_done_callback(self._answered)

    def _answered(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._flush()

    async def _run(self, keys: list[Any], waiters: list[asyncio.Future[Any]]) -> None:
        try:
            values = await self._fetch(keys)
        except asyncio.CancelledError:
            for waiter in waiters:
                waiter.cancel()
            raise
        except Exception as error:  # every reader of the batch learns of the failure
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(error)
            return
        for waiter, value in zip(waiters, values, strict=True):
            if not waiter.done():  # a reader that gave up (its request was cancelled)
                waiter.set_result(value)
