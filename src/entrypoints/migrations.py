"""Schema migrations of the configured stores: `coatcheck migrate` applies them at once (and
fails, naming the cause, if a store does not answer); `serve` applies the embedded store's
at start-up and PostgreSQL's as soon as it answers. Opening a store never migrates it."""

from __future__ import annotations

import asyncio
import logging
import time

from coatcheck.adapters.postgres.migrations import migrate as migrate_postgres
from coatcheck.adapters.sqlite import migrate_sqlite
from coatcheck.adapters.store_watch import StoreWatch
from coatcheck.domain.errors import StoreUnavailable
from coatcheck.entrypoints.settings import Settings

FIRST_RETRY_SECONDS = 0.1
LAST_RETRY_SECONDS = 5.0
log = logging.getLogger("coatcheck.migrations")


async def apply_migrations(settings: Settings) -> dict[str, list[str]]:
    """Bring every store the settings select up to date: each store's name, with the
    versions applied to it."""
    applied: dict[str, list[str]] = {}
    if settings.database_url is not None:
        applied["PostgreSQL"] = await migrate_postgres(settings.database_url.get_secret_value())
    applied |= await migrate_embedded(settings)
    return applied


async def migrate_embedded(settings: Settings) -> dict[str, list[str]]:
    if "sqlite" not in (settings.users_store, settings.sessions_store):
        return {}
    return {"embedded SQLite": await migrate_sqlite(settings.sqlite_path)}


async def migrate_postgres_once(settings: Settings, watch: StoreWatch) -> bool:
    """Apply PostgreSQL's migrations if it answers now; False (the cause watched) if not."""
    if settings.database_url is None:
        return True
    started = time.perf_counter()
    try:
        applied = await migrate_postgres(settings.database_url.get_secret_value())
    except StoreUnavailable as error:
        watch.failed(error.__cause__ or error)
        return False
    watch.answered(time.perf_counter() - started)
    if applied:
        log.info("migrated", extra={"event": "migrated", "versions": applied})
    return True


async def migrate_postgres_when_up(settings: Settings, watch: StoreWatch) -> None:
    """Apply PostgreSQL's migrations once it answers, trying again with a growing pause
    (from 0.1 s to 5 s); the watch logs it down, with the cause, and up again."""
    pause = FIRST_RETRY_SECONDS
    while not await migrate_postgres_once(settings, watch):
        await asyncio.sleep(pause)
        pause = min(pause * 2, LAST_RETRY_SECONDS)
