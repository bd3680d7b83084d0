"""Schema migrations of the configured stores: the one step that `serve` (at start-up) and
`coatcheck migrate` run."""

from __future__ import annotations

from adapters.postgres_migrations import migrate as migrate_postgres
from entrypoints.settings import Settings


async def apply_migrations(settings: Settings) -> list[str]:
    """Bring every configured store's schema up to date; return the versions applied."""
    applied: list[str] = []
    if settings.database_url is not None:
        applied += await migrate_postgres(settings.database_url.get_secret_value())
    return applied
