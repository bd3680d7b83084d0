"""Versioned SQL migrations for the embedded store: adapters/sqlite/migrations/NNNN_name.sql.

PRAGMA user_version holds how many have been applied. Each is applied in a transaction of
its own that takes the write lock first, so concurrent runs (a worker each) wait for each
other, and the later one finds the version already there.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import aiosqlite

from coatcheck.adapters.email_forms import survey
from coatcheck.adapters.sql_files import versioned_sql
from coatcheck.adapters.sqlite.connection import Database
from coatcheck.domain.errors import StoreUnavailable


class SchemaNotCurrent(StoreUnavailable):
    """The file's schema is not the one this release reads and writes."""

    def __init__(self, found: int, current: int) -> None:
        advice = "run `coatcheck migrate`" if found < current else "a newer release wrote it"
        super().__init__(
            f"embedded store schema is version {found}, this release's is {current}: {advice}"
        )


async def _normalise_emails(connection: aiosqlite.Connection) -> None:
    rows = await connection.execute_fetchall("SELECT id, email FROM users")
    renames, _problems = survey((user_id, email) for user_id, email in rows)
    await connection.executemany(
        "UPDATE users SET email = ? WHERE id = ?", [(email, user_id) for user_id, email in renames]
    )


# Versions whose data SQL cannot rewrite: a step in Python, in the version's transaction.
_DATA_STEPS = {"0009_email_normal_form": _normalise_emails}


def migrations() -> list[tuple[str, str]]:
    """(version, SQL) of every shipped migration, oldest first."""
    return versioned_sql("coatcheck.adapters.sqlite")


def _statements(script: str) -> Iterator[str]:
    """One statement at a time: executescript() would commit the open transaction first."""
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            yield statement
            statement = ""
    if statement.strip():
        yield statement  # a trailing comment, or a last statement without its semicolon


async def _user_version(connection: aiosqlite.Connection) -> int:
    [(version,)] = await connection.execute_fetchall("PRAGMA user_version")
    return int(version)


async def check_schema(database: Database) -> None:
    """Refuse a file whose schema is not current: migrate_sqlite() makes it so."""
    current = len(migrations())
    async with database.turn() as connection:
        found = await _user_version(connection)
    if found != current:
        raise SchemaNotCurrent(found, current)


async def migrate_sqlite(path: Path) -> list[str]:
    """Apply the migrations the file lacks, creating it as needed; return the versions applied."""
    shipped = migrations()
    applied: list[str] = []
    database = await Database.connect(path)
    try:
        for number, (version, sql) in enumerate(shipped, start=1):
            async with database.transaction() as connection:
                found = await _user_version(connection)
                if found > len(shipped):
                    raise SchemaNotCurrent(found, len(shipped))
                if found < number:
                    for statement in _statements(sql):
                        await connection.execute(statement)
                    if version in _DATA_STEPS:
                        await _DATA_STEPS[version](connection)
                    await connection.execute(f"PRAGMA user_version = {number:d}")
                    applied.append(version)
    finally:
        await database.close()
    return applied
