"""The PostgreSQL schema runner, and how the users adapter reports an unreachable server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import asyncpg
import pytest

from coatcheck.adapters.deadline import StoreTimeouts
from coatcheck.adapters.postgres.migrations import migrate, migrations, pending
from coatcheck.adapters.postgres.pool import create_pool
from coatcheck.adapters.postgres.users import PostgresUsers
from coatcheck.domain.errors import Overloaded, StoreUnavailable

pytestmark = pytest.mark.postgres

ALL_VERSIONS = [version for version, _sql in migrations()]
UNREACHABLE_DSN = "postgresql://coatcheck:s3cret@127.0.0.1:1/coatcheck"


async def applied_versions(dsn: str) -> list[str]:
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch("SELECT version FROM schema_migrations ORDER BY version")
    finally:
        await connection.close()
    return [row["version"] for row in rows]


def test_versions_are_shipped_in_order() -> None:
    assert ALL_VERSIONS
    assert ALL_VERSIONS[0] == "0001_users"
    assert sorted(ALL_VERSIONS) == ALL_VERSIONS


async def test_migrate_applies_every_version_to_an_empty_database(postgres_dsn: str) -> None:
    assert await pending(postgres_dsn) == ALL_VERSIONS
    assert await migrate(postgres_dsn) == ALL_VERSIONS
    assert await applied_versions(postgres_dsn) == ALL_VERSIONS
    assert await pending(postgres_dsn) == []


async def test_second_run_applies_nothing(postgres_dsn: str) -> None:
    await migrate(postgres_dsn)
    assert await migrate(postgres_dsn) == []
    assert await applied_versions(postgres_dsn) == ALL_VERSIONS


async def test_concurrent_runs_apply_each_version_exactly_once(postgres_dsn: str) -> None:
    runs = await asyncio.gather(*(migrate(postgres_dsn) for _ in range(4)))
    assert sorted(version for run in runs for version in run) == ALL_VERSIONS
    assert await applied_versions(postgres_dsn) == ALL_VERSIONS


async def test_email_index_ignores_case_in_the_database_itself(postgres_dsn: str) -> None:
    await migrate(postgres_dsn)
    connection = await asyncpg.connect(postgres_dsn)
    insert = (
        "INSERT INTO users (id, email, name, password_hash, created_at)"
        " VALUES ($1, $2, 'Ada', 'hash', now())"
    )
    try:
        await connection.execute(insert, uuid.uuid4(), "ada@example.com")
        with pytest.raises(asyncpg.UniqueViolationError):
            await connection.execute(insert, uuid.uuid4(), "ADA@example.com")
    finally:
        await connection.close()


async def _ping_through_a_pool(dsn: str) -> None:
    pool = await create_pool(dsn)
    try:
        await PostgresUsers(pool).ping()
    finally:
        await pool.close()


@pytest.mark.parametrize("attempt", ["migrate", "pending", "pool"])
async def test_unreachable_server_is_store_unavailable_naming_no_address(attempt: str) -> None:
    calls: dict[str, Callable[[str], Awaitable[object]]] = {
        "migrate": migrate,
        "pending": pending,
        "pool": _ping_through_a_pool,
    }
    with pytest.raises(StoreUnavailable) as raised:
        await calls[attempt](UNREACHABLE_DSN)
    assert str(raised.value) == "user store unavailable"


async def test_a_pool_is_made_while_the_server_is_unreachable() -> None:
    pool = await create_pool(UNREACHABLE_DSN)
    await pool.close()


async def test_exhausted_pool_of_a_server_that_answers_is_overloaded_after_the_wait(
    postgres_dsn: str,
) -> None:
    await migrate(postgres_dsn)
    pool = await create_pool(postgres_dsn, min_size=1, max_size=1)
    users = PostgresUsers(pool, timeouts=StoreTimeouts(pool_wait=0.05, connect=1, command=1))
    try:
        async with pool.acquire():
            with pytest.raises(Overloaded):
                await users.ping()
        await users.ping()
    finally:
        await pool.close()


async def test_closed_pool_is_store_unavailable(postgres_dsn: str) -> None:
    pool = await create_pool(postgres_dsn)
    await pool.close()
    with pytest.raises(StoreUnavailable):
        await PostgresUsers(pool).ping()
