"""Addresses stored before the one normal form (issue 18, item 3): the migration moves what
it can, keeps what it cannot (rows that are not one mailbox, rows that would collide), and
`coatcheck users problems` lists what it kept."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import uuid
from pathlib import Path

import asyncpg
import pytest

from coatcheck.adapters.postgres.migrations import migrate
from coatcheck.adapters.sqlite import SqliteStore, migrate_sqlite
from coatcheck.adapters.sqlite import migrations as sqlite_migrations_module
from coatcheck.adapters.sqlite.migrations import migrations as sqlite_migrations
from coatcheck.domain.model import Email
from coatcheck.entrypoints.cli import main

# As releases before stored them (trimmed, lower-cased, loosely shaped).
OLD_ROWS = {
    "ada": "ada@example.com",  # already the normal form
    "lookalike": "\uff41da@example.com",  # fullwidth: the normal form is ada's
    "idn": "bob@b\u00fccher.de",  # a domain not IDNA-encoded: moved
    "nfd": "a\u0301lvaro@example.com",  # NFD: moved to NFC
    "list": "x,victim@example.com",  # not one mailbox: kept, logs in, never written to
    "dot": "dot@example.com.",
}
MOVED = {"idn": "bob@xn--bcher-kva.de", "nfd": "\u00e1lvaro@example.com"}
IDS = {name: uuid.UUID(int=number + 1) for number, name in enumerate(OLD_ROWS)}


def _expected() -> dict[uuid.UUID, str]:
    return {IDS[name]: MOVED.get(name, stored) for name, stored in OLD_ROWS.items()}


@pytest.mark.postgres
async def test_postgres_moves_what_it_can_and_keeps_what_collides_or_is_no_mailbox(
    postgres_dsn: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    redis_space: tuple[str, str],
) -> None:
    await migrate(postgres_dsn)
    connection = await asyncpg.connect(postgres_dsn)
    try:
        await connection.executemany(
            "INSERT INTO users (id, email, name, password_hash, created_at)"
            " VALUES ($1, $2, 'Old', 'x', now())",
            [(IDS[name], stored) for name, stored in OLD_ROWS.items()],
        )
        await connection.execute(
            "DELETE FROM schema_migrations WHERE version = '0005_email_normal_form'"
        )
        assert await migrate(postgres_dsn) == ["0005_email_normal_form"]
        rows = await connection.fetch("SELECT id, email FROM users")
    finally:
        await connection.close()
    assert {row["id"]: row["email"] for row in rows} == _expected()

    monkeypatch.setenv("DATABASE_URL", postgres_dsn)
    monkeypatch.setenv("SESSION_SECRET", "s" * 32)
    monkeypatch.setenv("REDIS_URL", redis_space[0])
    monkeypatch.setenv("REDIS_PREFIX", redis_space[1])
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["users", "problems"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[0] == "3 address(es) not in the one normal form"
    assert sorted(line.split()[:2] for line in listed[1:]) == sorted(
        [
            [str(IDS["lookalike"]), "collides"],
            [str(IDS["list"]), "not-one-mailbox"],
            [str(IDS["dot"]), "not-one-mailbox"],
        ]
    )
    assert f"same address as {IDS['ada']}" in "\n".join(listed)


async def test_the_embedded_store_moves_what_it_can_and_keeps_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "data" / "coatcheck.sqlite3"
    shipped = sqlite_migrations()
    versions = [version for version, _sql in shipped]
    number = versions.index("0009_email_normal_form")
    with monkeypatch.context() as before:  # the file as the release before left it
        before.setattr(sqlite_migrations_module, "migrations", lambda: shipped[:number])
        await migrate_sqlite(path)
    with contextlib.closing(sqlite3.connect(path)) as connection, connection:
        connection.execute(
            "INSERT INTO users (id, email, name, password_hash, created_at)"
            " SELECT value ->> 0, value ->> 1, 'Old', 'x', '2030-01-01T00:00:00.000000+00:00'"
            " FROM json_each(?)",
            (json.dumps([[str(IDS[name]), stored] for name, stored in OLD_ROWS.items()]),),
        )

    assert await migrate_sqlite(path) == versions[number:]

    store = await SqliteStore.open(path)
    try:
        stored = dict(await store.users.stored_emails())
        old = await store.users.by_email(Email.for_log_in("x,victim@example.com"))
    finally:
        await store.close()
    assert stored == _expected()
    assert old is not None
    assert old.email.is_mailbox is False
