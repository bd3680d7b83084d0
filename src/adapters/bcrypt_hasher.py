"""bcrypt, always off the event loop, in a bounded thread pool of its own, behind a bounded
queue: a hash that cannot start in time for its request's deadline (or finds the queue
full) is Overloaded, a burst rather than an outage."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TypeVar

import bcrypt

from adapters import deadline
from domain.errors import Overloaded
from domain.model import Password

_T = TypeVar("_T")
NICENESS = 10  # how much the hashing threads yield to the event loop's thread


def _yield_to_the_event_loop() -> None:
    """Run this pool thread at a lower CPU priority (Linux sets niceness per thread): a
    storm of log-ins then takes the cores the event loop leaves, not the loop's own share,
    so authenticated requests keep their latency while every spare cycle still hashes."""
    with contextlib.suppress(OSError, AttributeError):  # elsewhere: the normal priority
        thread = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, thread, os.getpriority(os.PRIO_PROCESS, thread) + NICENESS)


class BcryptHasher:
    """Construction costs one hash (the dummy one, made up front so that even the first
    unknown email costs exactly one verification): construct it at start-up."""

    def __init__(self, rounds: int = 12, max_threads: int = 4, max_waiting: int = 0) -> None:
        self._rounds = rounds
        self._pool = ThreadPoolExecutor(
            max_threads, thread_name_prefix="bcrypt", initializer=_yield_to_the_event_loop
        )
        self._slots = asyncio.Semaphore(max_threads)
        self._waiting = 0
        self._max_waiting = max_waiting or 32 * max_threads
        started = time.perf_counter()
        self._dummy_hash = bcrypt.hashpw(b"no such user", bcrypt.gensalt(rounds))
        self._cost = time.perf_counter() - started  # what one hash takes here

    async def _run(self, fn: partial[_T]) -> _T:
        await self._take_slot()
        future = asyncio.get_running_loop().run_in_executor(self._pool, fn)
        # The slot is free when the thread is, even if the request stops waiting for it.
        future.add_done_callback(lambda _: self._slots.release())
        return await asyncio.shield(future)

    async def _take_slot(self) -> None:
        if self._waiting >= self._max_waiting:
            raise Overloaded("password hashing")
        self._waiting += 1
        try:
            # Start only while the hash can still end before the request's deadline.
            left = deadline.remaining()
            async with asyncio.timeout(
                None if left == math.inf else max(0.0, left - 2 * self._cost)
            ):
                await self._slots.acquire()
        except TimeoutError:
            raise Overloaded("password hashing") from None
        finally:
            self._waiting -= 1

    async def hash(self, password: Password) -> str:
        salt = bcrypt.gensalt(self._rounds)
        hashed = await self._run(partial(bcrypt.hashpw, password.value.encode(), salt))
        return hashed.decode()

    async def verify(self, password: Password, password_hash: str) -> bool:
        try:
            return await self._run(
                partial(bcrypt.checkpw, password.value.encode(), password_hash.encode())
            )
        except ValueError:  # not a bcrypt hash: nothing can match it
            return False

    async def verify_dummy(self, password: Password) -> None:
        await self._run(partial(bcrypt.checkpw, password.value.encode(), self._dummy_hash))

    def needs_rehash(self, password_hash: str) -> bool:
        # A bcrypt hash reads $2b$<cost>$<salt+hash>.
        parts = password_hash.split("$")
        return len(parts) < 4 or parts[2] != f"{self._rounds:02d}"

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
