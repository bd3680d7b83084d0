"""How late the event loop has been running lately: a timeout while it ran late was very
likely the process's own (a burst kept the loop from reading an answer that had arrived:
libuv runs due timers before it reads sockets), not the store's.

One timer per loop, every TICK_SECONDS, started by the first store watch made on it."""

from __future__ import annotations

import asyncio
import weakref

TICK_SECONDS = 0.05
WINDOW_SECONDS = 1.0  # how long a late tick is remembered


class _Monitor:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._due = loop.time() + TICK_SECONDS
        self._worst = 0.0
        self._worst_at = 0.0
        loop.call_at(self._due, self._tick)

    def _tick(self) -> None:
        now = self._loop.time()
        late = now - self._due
        if late >= self._worst or now - self._worst_at > WINDOW_SECONDS:
            self._worst, self._worst_at = late, now
        self._due = now + TICK_SECONDS
        if not self._loop.is_closed():
            self._loop.call_at(self._due, self._tick)

    def recent(self) -> float:
        now = self._loop.time()
        remembered = self._worst if now - self._worst_at <= WINDOW_SECONDS else 0.0
        return max(now - self._due, remembered)  # a tick due and not yet run is late too


_MONITORS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Monitor] = (
    weakref.WeakKeyDictionary()
)


def watch_running_loop() -> None:
    """Start watching the running loop, if there is one and it is not watched yet."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    if loop not in _MONITORS:
        _MONITORS[loop] = _Monitor(loop)


def recent_lag() -> float:
    """The most the running loop ran late in the last second (0 if it is not watched)."""
    try:
        monitor = _MONITORS.get(asyncio.get_running_loop())
    except RuntimeError:
        return 0.0
    return monitor.recent() if monitor is not None else 0.0
