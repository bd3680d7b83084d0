"""The running event loop, without asking asyncio for it on every use: on Python 3.11 each
asyncio.get_running_loop() (and current_task() without a loop) is a getpid() system call,
0.47 us here, and the request path asked for it several times a request."""

from __future__ import annotations

import asyncio


class RunningLoop:
    """The loop of the last use while it runs (one runs at a time in a thread); asked of
    asyncio again once it no longer does (a loop of its own per test, say)."""

    __slots__ = ("_loop",)

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None

    def get(self) -> asyncio.AbstractEventLoop:
        loop = self._loop
        if loop is None or not loop.is_running():
            loop = self._loop = asyncio.get_running_loop()
        return loop
