"""The embedded store's schema: versioned SQL files, applied by migrate_sqlite() and
recorded in PRAGMA user_version; opening the store never migrates."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import uuid
from pathlib import Path

import pytest
from attrs import evolve

from coatcheck.adapters.sqlite import SchemaNotCurrent, SqliteStore, migrate_sqlite
from coatcheck.adapters.sqlite.migrations import migrations
from tests.factories import NOW, digest_for, make_session, make_user

ALL_VERSIONS = [version for version, _sql in migrations()]

# What release 0.1.0 ran on a new file, to the letter: its files must keep working.
RELEASE_0_1_0_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS users (
            id TEXT PRIMARY KEY,
            email TEXT NOT NULL COLLATE NOCASE,
            name TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT
        )""",
    "CREATE UNIQUE INDEX IF NOT EXISTS users_email ON users (email)",
    """CREATE TABLE IF NOT EXISTS sessions (
            digest TEXT PRIMARY KEY,
            id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            created_at TEXT NOT NULL,
            last_seen_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            absolute_expires_at TEXT NOT NULL,
            user_agent TEXT NOT NULL,
            address TEXT NOT NULL
        ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user_id, expires_at)",
    """CREATE TABLE IF NOT EXISTS login_attempts (
            key TEXT PRIMARY KEY,
            failures INTEGER NOT NULL DEFAULT 0,
            window_ends_at TEXT,
            locked_until TEXT
        ) WITHOUT ROWID""",
    "PRAGMA user_version = 1",
)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "coatcheck.sqlite3"


def pragma(path: Path, name: str) -> object:
    with sqlite3.connect(path) as connection:
        return connection.execute(f"PRAGMA {name}").fetchone()[0]


def schema(path: Path) -> list[tuple[str, str, str]]:
    """Every table and index of the file, its SQL with white space folded."""
    with sqlite3.connect(path) as connection:
        rows = connection.execute(
            "SELECT type, name, sql FROM sqlite_master ORDER BY type, name"
        ).fetchall()
    return [(kind, name, re.sub(r"\s+", " ", sql or "")) for kind, name, sql in rows]


def test_versions_are_numbered_from_one_in_order() -> None:
    assert ALL_VERSIONS[0] == "0001_users_sessions_login_attempts"
    numbers = [int(version.split("_", 1)[0]) for version in ALL_VERSIONS]
    assert numbers == list(range(1, len(ALL_VERSIONS) + 1))  # user_version counts them


async def test_migrate_makes_the_folder_the_file_a_wal_journal_and_every_version(
    path: Path,
) -> None:
    assert await migrate_sqlite(path) == ALL_VERSIONS
    assert pragma(path, "journal_mode") == "wal"
    assert pragma(path, "user_version") == len(ALL_VERSIONS)


async def test_second_run_applies_nothing(path: Path) -> None:
    await migrate_sqlite(path)
    before = schema(path)
    assert await migrate_sqlite(path) == []
    assert schema(path) == before


async def test_concurrent_runs_apply_each_version_exactly_once(path: Path) -> None:
    """As `coatcheck serve --workers N` does: every worker migrates the one file. It starts
    empty but in WAL mode: switching a new file to WAL from many connections at once can
    fail with "database is locked", opening or migrating alike."""
    path.parent.mkdir()
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA journal_mode = WAL")
    runs = await asyncio.gather(*(migrate_sqlite(path) for _ in range(4)))
    assert sorted(version for run in runs for version in run) == ALL_VERSIONS


async def test_open_refuses_a_file_not_migrated_and_creates_no_table(path: Path) -> None:
    with pytest.raises(SchemaNotCurrent) as raised:
        await SqliteStore.open(path)
    assert "run `coatcheck migrate`" in str(raised.value)
    assert schema(path) == []


@pytest.fixture
def from_a_newer_release(path: Path) -> Path:
    path.parent.mkdir()
    with sqlite3.connect(path) as connection:
        connection.execute(f"PRAGMA user_version = {len(ALL_VERSIONS) + 1}")
    return path


async def test_a_file_from_a_newer_release_is_refused_by_migrate_and_open(
    from_a_newer_release: Path,
) -> None:
    with pytest.raises(SchemaNotCurrent, match="a newer release wrote it"):
        await migrate_sqlite(from_a_newer_release)
    with pytest.raises(SchemaNotCurrent, match="a newer release wrote it"):
        await SqliteStore.open(from_a_newer_release)
    assert pragma(from_a_newer_release, "user_version") == len(ALL_VERSIONS) + 1
    assert schema(from_a_newer_release) == []


def make_release_0_1_0_file(path: Path) -> None:
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA journal_mode = WAL")
        for statement in RELEASE_0_1_0_SCHEMA:
            connection.execute(statement)


async def test_a_new_file_gets_the_schema_a_migrated_release_0_1_0_file_has(
    tmp_path: Path,
) -> None:
    make_release_0_1_0_file(tmp_path / "old" / "coatcheck.sqlite3")
    await migrate_sqlite(tmp_path / "old" / "coatcheck.sqlite3")
    await migrate_sqlite(tmp_path / "new" / "coatcheck.sqlite3")
    assert schema(tmp_path / "new" / "coatcheck.sqlite3") == schema(
        tmp_path / "old" / "coatcheck.sqlite3"
    )
    assert pragma(tmp_path / "new" / "coatcheck.sqlite3", "user_version") == len(ALL_VERSIONS)


async def test_a_file_of_release_0_1_0_gets_only_the_later_migrations_and_keeps_its_data(
    path: Path,
) -> None:
    make_release_0_1_0_file(path)
    user, session = make_user(), make_session(uuid.uuid4())
    with sqlite3.connect(path) as connection:  # rows as release 0.1.0 wrote them
        connection.execute(
            "INSERT INTO users (id, email, name, password_hash, created_at) VALUES (?, ?, ?, ?, ?)",
            (str(user.id), user.email.value, user.name.value, user.password_hash, NOW.isoformat()),
        )
        connection.execute(
            "INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                *(digest_for("a"), session.id, str(session.user_id), session.kind.value),
                *(session.created_at.isoformat(), session.last_seen_at.isoformat()),
                *(session.expires_at.isoformat(), session.absolute_expires_at.isoformat()),
                *(session.client.user_agent, session.client.address),
            ),
        )
        connection.execute(
            "INSERT INTO login_attempts (key, locked_until) VALUES ('account:a', ?)",
            (NOW.isoformat(),),
        )

    assert await migrate_sqlite(path) == ALL_VERSIONS[1:]
    assert await migrate_sqlite(path) == []
    assert pragma(path, "user_version") == len(ALL_VERSIONS)
    store = await SqliteStore.open(path)
    try:
        assert await store.users.by_email(user.email) == user
        # A session of 0.1.0 carries no user fields: "who am I" reads them from the users.
        assert await store.sessions.get(digest_for("a")) == evolve(session, user=None)
        assert await store.login_attempts.locked_until(["account:a"]) == NOW
    finally:
        await store.close()
