"""Session events in the embedded store: a row each in `session_events`, which every process
serving the file (`serve --workers N`, and the CLI's revocations) reaches. Listeners poll
for rows past the last one they saw, every POLL_SECONDS; rows older than KEEP are swept by
the next publish.

SQLite has one writer at a time and AUTOINCREMENT never reuses or goes back, so a row
committed after another always has the higher number: nothing is skipped by `seq > last`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from coatcheck.adapters.event_records import decode, encode
from coatcheck.adapters.sqlite.connection import Database
from coatcheck.adapters.timestamps import iso_utc
from coatcheck.domain.errors import StoreUnavailable
from coatcheck.domain.events import SessionEvent

log = logging.getLogger(__name__)
POLL_SECONDS = 0.2
KEEP = timedelta(minutes=5)


class SqliteSessionEvents:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def publish(self, event: SessionEvent) -> None:
        now = datetime.now(UTC)
        try:
            async with self._database.transaction() as connection:
                await connection.execute(
                    "DELETE FROM session_events WHERE at < ?", (iso_utc(now - KEEP),)
                )
                await connection.execute(
                    "INSERT INTO session_events (at, event) VALUES (?, ?)",
                    (iso_utc(now), encode(event).decode()),
                )
        except StoreUnavailable as error:
            log.warning("a session event was not published: %s", error)

    async def listen(
        self, deliver: Callable[[SessionEvent], None], resync: Callable[[], None]
    ) -> None:
        last: int | None = None  # None: start again from the newest row, and resync
        lost = False
        while True:
            try:
                if last is None:
                    [(last,)] = await self._database.fetch(
                        "SELECT coalesce(max(seq), 0) FROM session_events"
                    )
                    resync()
                rows = await self._database.fetch(
                    "SELECT seq, event FROM session_events WHERE seq > ? ORDER BY seq", (last,)
                )
            except StoreUnavailable as error:
                if not lost:
                    log.warning("session events: cannot read them (%s)", error)
                    lost = True
                last = None
            else:
                if lost:
                    log.info("session events: reading them again")
                    lost = False
                for seq, raw in rows:
                    last = seq
                    event = decode(raw)
                    if event is not None:
                        deliver(event)
            await asyncio.sleep(POLL_SECONDS)
