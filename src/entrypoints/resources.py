"""The connections a running coatcheck holds, opened and closed in one place."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import asyncpg
from attrs import field, frozen

from adapters.postgres_migrations import migrate
from adapters.postgres_users import create_pool
from adapters.redis_client import Client as RedisClient
from adapters.redis_client import open_redis
from adapters.sqlite import SqliteStore, migrate_sqlite
from entrypoints.settings import Settings


@frozen(repr=False)
class Resources:
    session_secret: bytes = field(repr=False)
    postgres: asyncpg.Pool | None = None
    redis: RedisClient | None = None
    sqlite: SqliteStore | None = None


def embedded_session_secret(data_dir: Path) -> bytes:
    """The embedded default's secret: made once, kept (mode 0600) beside its database."""
    path = data_dir / "session_secret"
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(descriptor, "w") as file:
        file.write(secrets.token_urlsafe(48))
    return path.read_bytes().strip()


def _embedded(settings: Settings) -> bool:
    return "sqlite" in (settings.users_store, settings.sessions_store)


async def migrate_stores(settings: Settings) -> dict[str, list[str]]:
    """Bring the schema of every store the settings select up to date: each store's name,
    with the versions applied to it."""
    applied: dict[str, list[str]] = {}
    if settings.database_url is not None:
        applied["PostgreSQL"] = await migrate(settings.database_url.get_secret_value())
    if _embedded(settings):
        applied["embedded SQLite"] = await migrate_sqlite(settings.sqlite_path)
    return applied


@asynccontextmanager
async def open_resources(
    settings: Settings, *, apply_migrations: bool = True
) -> AsyncIterator[Resources]:
    if apply_migrations:
        await migrate_stores(settings)
    async with AsyncExitStack() as stack:
        postgres = redis_client = sqlite = None
        if settings.database_url is not None:
            postgres = await create_pool(settings.database_url.get_secret_value())
            stack.push_async_callback(postgres.close)
        if settings.redis_url is not None:
            redis_client = await open_redis(
                settings.redis_url.get_secret_value(), cluster=settings.redis_cluster
            )
            stack.push_async_callback(redis_client.aclose)
        if _embedded(settings):
            sqlite = await SqliteStore.open(settings.sqlite_path)
            stack.push_async_callback(sqlite.close)
        if settings.session_secret is not None:
            secret = settings.session_secret.get_secret_value().encode()
        else:
            secret = await asyncio.to_thread(embedded_session_secret, settings.data_dir)
        yield Resources(secret, postgres, redis_client, sqlite)
