"""Session endings delivered in process."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from coatcheck.domain.events import SessionEvent


class InMemorySessionEvents:
    """Delivers to the listeners of this one object, in process; keeps what was published."""

    def __init__(self) -> None:
        self.published: list[SessionEvent] = []
        self._listeners: list[Callable[[SessionEvent], None]] = []

    async def publish(self, event: SessionEvent) -> None:
        self.published.append(event)
        for deliver in list(self._listeners):
            deliver(event)

    async def listen(
        self, deliver: Callable[[SessionEvent], None], resync: Callable[[], None]
    ) -> None:
        self._listeners.append(deliver)
        try:
            resync()
            await asyncio.Event().wait()  # until cancelled
        finally:
            self._listeners.remove(deliver)
