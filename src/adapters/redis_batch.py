"""Reads that arrive in the same event-loop tick share one MGET.

The first read of a tick schedules a flush for the end of the tick (call_soon runs it
after the callbacks already queued, which is where the other requests of the tick are);
every read of the tick joins it. No value is ever kept past its answer: this is batching,
not caching.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

MAX_BATCH = 512
Fetch = Callable[[list[Any]], Awaitable[Sequence[Any]]]


class TickBatcher:
    def __init__(self, fetch: Fetch) -> None:
        self._fetch = fetch
        self._keys: list[Any] = []
        self._waiters: list[asyncio.Future[Any]] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def get(self, key: Any) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        if not self._keys:
            loop.call_soon(self._flush)
        waiter: asyncio.Future[Any] = loop.create_future()
        self._keys.append(key)
        self._waiters.append(waiter)
        if len(self._keys) >= MAX_BATCH:
            self._flush()
        return waiter

    def _flush(self) -> None:
        if not self._keys:
            return
        keys, waiters = self._keys, self._waiters
        self._keys, self._waiters = [], []
        task = asyncio.get_running_loop().create_task(self._run(keys, waiters))
        self._tasks.add(task)  # held until done: the loop keeps only weak references
        task.add_done_callback(self._tasks.discard)

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
