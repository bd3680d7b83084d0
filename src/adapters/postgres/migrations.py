"""Versioned SQL migrations for PostgreSQL: adapters/postgres/migrations/NNNN_name.sql, applied
in order.

Each version is applied in a transaction of its own, under a transaction-level advisory
lock, and recorded in schema_migrations: concurrent runs wait for each other, and the
later one finds the version already there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from coatcheck.adapters.email_forms import survey
from coatcheck.adapters.postgres.pool import CONNECT_TIMEOUT, unavailable_as_domain_error
from coatcheck.adapters.sql_files import versioned_sql

_LOCK_KEY = 0x636F_6174_6368_6563  # "coatchec"; any constant that other tools do not use

_CREATE_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


async def _normalise_emails(connection: asyncpg.Connection[asyncpg.Record]) -> None:
    rows = await connection.fetch("SELECT id::text, email FROM users")
    renames, _problems = survey((row["id"], row["email"]) for row in rows)
    await connection.executemany("UPDATE users SET email = $2 WHERE id = $1::uuid", renames)


# Versions whose data SQL cannot rewrite: a step in Python, in the version's transaction.
_DATA_STEPS = {"0005_email_normal_form": _normalise_emails}


def migrations() -> list[tuple[str, str]]:
    """(version, SQL) of every shipped migration, oldest first."""
    return versioned_sql("coatcheck.adapters.postgres")


@asynccontextmanager
async def _connection(dsn: str) -> AsyncIterator[asyncpg.Connection[asyncpg.Record]]:
    with unavailable_as_domain_error():
        connection = await asyncpg.connect(dsn, timeout=CONNECT_TIMEOUT)
        try:
            yield connection
        finally:
            await connection.close()


async def migrate(dsn: str) -> list[str]:
    """Apply the migrations this database lacks; return the versions applied."""
    applied: list[str] = []
    async with _connection(dsn) as connection:
        for version, sql in migrations():
            async with connection.transaction():
                await connection.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
                await connection.execute(_CREATE_LEDGER)
                done = await connection.fetchval(
                    "SELECT true FROM schema_migrations WHERE version = $1", version
                )
                if not done:
                    await connection.execute(sql)
                    if version in _DATA_STEPS:
                        await _DATA_STEPS[version](connection)
                    await connection.execute(
                        "INSERT INTO schema_migrations (version) VALUES ($1)", version
                    )
                    applied.append(version)
    return applied


async def pending(dsn: str) -> list[str]:
    """The versions migrate() would apply now."""
    async with _connection(dsn) as connection:
        if await connection.fetchval("SELECT to_regclass('schema_migrations')") is None:
            done: set[str] = set()
        else:
            rows = await connection.fetch("SELECT version FROM schema_migrations")
            done = {row["version"] for row in rows}
    return [version for version, _sql in migrations() if version not in done]
