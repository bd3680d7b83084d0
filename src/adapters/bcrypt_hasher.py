"""bcrypt, always off the event loop, in a bounded thread pool of its own.

Every check costs what one verification at the highest cost in use costs, whatever the
cost of the hash checked, so the answer time never tells a known email from an unknown
one: a hash of a lower cost (made before BCRYPT_ROUNDS was raised) is padded with
hashings of its cost, its cost + 1, ... up to the highest, which together take as long
as one more of the highest (2^c + 2^c + 2^(c+1) + ... + 2^(h-1) = 2^h); the highest is
the configured cost, or a higher one this process has met in a stored hash (made before
BCRYPT_ROUNDS was lowered). An unknown email costs one hashing at the highest cost.

The pool sits behind a bounded queue: a hash that cannot start in time for its request's
deadline (or finds the queue full) is Overloaded, a burst rather than an outage.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TypeVar

import bcrypt

from coatcheck.adapters import deadline
from coatcheck.domain.errors import Overloaded
from coatcheck.domain.model import Password

_T = TypeVar("_T")
NICENESS = 10  # how much the hashing threads yield to the event loop's thread
MAX_COST = 31  # bcrypt's own limit
_COST = re.compile(r"\$2[abxy]?\$(\d\d)\$")


def _yield_to_the_event_loop() -> None:
    """Run this pool thread at a lower CPU priority (Linux sets niceness per thread): a
    storm of log-ins then takes the cores the event loop leaves, not the loop's own share,
    so authenticated requests keep their latency while every spare cycle still hashes."""
    with contextlib.suppress(OSError, AttributeError):  # elsewhere: the normal priority
        thread = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, thread, os.getpriority(os.PRIO_PROCESS, thread) + NICENESS)


def cost_of(password_hash: str) -> int | None:
    """The cost a bcrypt hash was made with; None if it is not a bcrypt hash."""
    found = _COST.match(password_hash)
    cost = int(found.group(1)) if found else 0
    return cost if 4 <= cost <= MAX_COST else None


class BcryptHasher:
    def __init__(self, rounds: int = 12, max_threads: int = 4, max_waiting: int = 0) -> None:
        self._rounds = rounds
        self._highest = rounds  # what every check costs (see the module's docstring)
        self._pool = ThreadPoolExecutor(
            max_threads, thread_name_prefix="bcrypt", initializer=_yield_to_the_event_loop
        )
        # Hashing with a salt of cost c takes what verifying a hash of cost c does.
        self._salts = {cost: bcrypt.gensalt(cost) for cost in range(4, MAX_COST + 1)}
        self._slots = asyncio.Semaphore(max_threads)
        self._waiting = 0
        self._max_waiting = max_waiting or 32 * max_threads
        started = time.perf_counter()
        bcrypt.hashpw(b"how long one hash takes", self._salts[rounds])
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
        cost = cost_of(password_hash)
        if cost is None:  # not a bcrypt hash: nothing can match it, but it costs the same
            await self.verify_dummy(password)
            return False
        self._highest = max(self._highest, cost)
        check = partial(self._check, password.value.encode(), password_hash.encode(), cost)
        return await self._run(check)

    def _check(self, password: bytes, password_hash: bytes, cost: int) -> bool:
        try:
            matches = bcrypt.checkpw(password, password_hash)
        except ValueError:  # malformed past its cost: nothing can match it
            bcrypt.hashpw(password, self._salts[self._highest])
            return False
        for padding in range(cost, self._highest):
            bcrypt.hashpw(password, self._salts[padding])
        return matches

    async def verify_dummy(self, password: Password) -> None:
        await self._run(partial(bcrypt.hashpw, password.value.encode(), self._salts[self._highest]))

    def needs_rehash(self, password_hash: str) -> bool:
        return cost_of(password_hash) != self._rounds

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
