"""A memo of a pure function that keeps each result for a while after it was made: what the
request path reuses (decoded session records, user cards, the JSON of a user) without
keeping what was made for sessions long gone. A cache bounded by count alone keeps its
last N results however old; under a stream of new sessions (each log-in, each renewal
makes a new record) it fills with results that will never be asked for again, and holds
them until N newer ones come: memory that grows with the sessions a process has seen,
not with those that are active. Kept by time, it holds what was made in the last
`seconds`, `most` at a time at the very most."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Recent(Generic[K, V]):
    """`make(key)`, made once for the same key while it is kept: for `seconds` after it was
    made (not after it was last asked for: a result asked for all along is made again
    once a window, which bounds what a window costs), `most` at a time, the oldest going
    first. Results go only when new ones are made, so asking for a kept one costs one
    dict look-up. `make` must be a pure function of the key (what it raises is not kept)."""

    def __init__(
        self,
        make: Callable[[K], V],
        seconds: float,
        most: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._make, self._seconds, self._most, self._clock = make, seconds, most, clock
        self._kept: dict[K, V] = {}
        self._made: deque[tuple[float, K]] = deque()  # oldest first

    def __call__(self, key: K) -> V:
        kept = self._kept.get(key, self)
        return self._add(key) if kept is self else kept  # type: ignore[return-value]

    def __len__(self) -> int:
        return len(self._kept)

    def _add(self, key: K) -> V:
        value = self._make(key)
        now, made = self._clock(), self._made
        while made and (len(made) >= self._most or made[0][0] <= now - self._seconds):
            del self._kept[made.popleft()[1]]
        self._kept[key] = value
        made.append((now, key))
        return value
