"""Schema migrations of the configured stores: the one step that `serve` (at start-up) and
`coatcheck migrate` run. Opening a store never migrates it."""

from __future__ import annotations

from adapters.postgres_migrations import migrate as migrate_postgres
from adapters.sqlite import migrate_sqlite
from entrypoints.settings import Settings


async def apply_migrations(settings: Settings) -> dict[str, list[str]]:
    """Bring every store the settings select up to date: each store's name, with the
    versions applied to it."""
    applied: dict[str, list[str]] = {}
    if settings.database_url is not None:
        applied["PostgreSQL"] = await migrate_postgres(settings.database_url.get_secret_value())
    if "sqlite" in (settings.users_store, settings.sessions_store):
        applied["embedded SQLite"] = await migrate_sqlite(settings.sqlite_path)
    return applied
