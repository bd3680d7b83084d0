"""Real PostgreSQL and Redis for tests: a database and a key space of their own each,
made and dropped by the test. Under CI=true a missing service fails the test; elsewhere
it skips it."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
import redis.asyncio as redis

POSTGRES_ADMIN_DSN = os.environ.get(
    "TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def service_missing(what: str, error: BaseException) -> None:
    message = f"{what} is not reachable ({type(error).__name__})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


async def fresh_database() -> AsyncIterator[str]:
    """A new, empty database; its DSN is yielded and the database dropped afterwards."""
    name = f"coatcheck_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=5)
    except (OSError, asyncpg.PostgresError) as error:
        service_missing("PostgreSQL", error)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield POSTGRES_ADMIN_DSN.rsplit("/", 1)[0] + "/" + name
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def fresh_redis_prefix() -> AsyncIterator[tuple[str, str]]:
    """A key prefix no one else uses; yields (url, prefix) and deletes its keys afterwards."""
    prefix = f"coatcheck-test:{uuid.uuid4().hex[:12]}:"
    client = redis.Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (OSError, redis.RedisError) as error:
        await client.aclose()
        service_missing("Redis", error)
    try:
        yield REDIS_URL, prefix
        keys = [key async for key in client.scan_iter(match=prefix + "*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()
