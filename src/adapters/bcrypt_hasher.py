"""bcrypt, always off the event loop, in a bounded thread pool of its own."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TypeVar

import bcrypt

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

    def __init__(self, rounds: int = 12, max_threads: int = 4) -> None:
        self._rounds = rounds
        self._pool = ThreadPoolExecutor(
            max_threads, thread_name_prefix="bcrypt", initializer=_yield_to_the_event_loop
        )
        self._dummy_hash = bcrypt.hashpw(b"no such user", bcrypt.gensalt(rounds))

    async def _run(self, fn: partial[_T]) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn)

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
