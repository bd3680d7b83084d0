"""The embedded SQLite store beyond the port contracts: the file, its sharing, its sweeps."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import timedelta, timezone
from pathlib import Path

import pytest
from attrs import evolve

from coatcheck.adapters.sqlite import SqliteStore, migrate_sqlite
from coatcheck.domain.errors import EmailTaken, StoreUnavailable
from coatcheck.domain.model import Email
from coatcheck.entrypoints.resources import embedded_session_secret
from tests.factories import NOW, digest_for, make_session, make_user

WINDOW = timedelta(minutes=15)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "coatcheck.sqlite3"


async def migrated(path: Path) -> SqliteStore:
    await migrate_sqlite(path)
    return await SqliteStore.open(path)


@pytest.fixture
async def store(path: Path) -> AsyncIterator[SqliteStore]:
    store = await migrated(path)
    yield store
    await store.close()


async def test_users_sessions_and_locks_survive_reopening_the_file(path: Path) -> None:
    user, session = make_user(), make_session(uuid.uuid4())
    first = await migrated(path)
    await first.users.add(user)
    await first.sessions.add(digest_for("a"), session)
    await first.login_attempts.claim_lock("account:a", NOW, NOW)
    await first.close()

    second = await SqliteStore.open(path)
    try:
        assert await second.users.by_email(user.email) == user
        assert await second.sessions.get(digest_for("a")) == session
        assert await second.login_attempts.locked_until(["account:a"]) == NOW
    finally:
        await second.close()


@pytest.fixture(params=["migrate", "open"])
def attempt(request: pytest.FixtureRequest) -> Callable[[Path], Awaitable[object]]:
    """Each way in to the file: both report a file that cannot be used the same way."""
    return {"migrate": migrate_sqlite, "open": SqliteStore.open}[request.param]


async def test_a_path_where_no_file_can_be_made_is_store_unavailable(
    tmp_path: Path, attempt: Callable[[Path], Awaitable[object]]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreUnavailable) as raised:
        await attempt(blocker / "coatcheck.sqlite3")
    assert str(raised.value) == "embedded store unavailable"


@pytest.fixture
def not_a_database(path: Path) -> Path:
    path.parent.mkdir()
    path.write_bytes(b"this is no SQLite database, just some bytes" * 100)
    return path


async def test_a_file_that_is_not_a_database_is_store_unavailable(
    not_a_database: Path, attempt: Callable[[Path], Awaitable[object]]
) -> None:
    with pytest.raises(StoreUnavailable) as raised:
        await attempt(not_a_database)
    assert str(raised.value) == "embedded store unavailable"


async def test_times_read_back_as_utc_whatever_zone_they_were_written_in(
    store: SqliteStore,
) -> None:
    elsewhere = NOW.astimezone(timezone(timedelta(hours=5, minutes=30)))
    session = make_session(uuid.uuid4(), now=elsewhere)
    await store.sessions.add(digest_for("a"), session)
    stored = await store.sessions.get(digest_for("a"))
    assert stored == session
    assert stored is not None
    assert stored.created_at.utcoffset() == timedelta(0)


async def test_interleaved_tasks_take_turns_on_the_shared_connection(store: SqliteStore) -> None:
    user = uuid.uuid4()
    adds = [store.sessions.add(digest_for(f"s{n}"), make_session(user)) for n in range(20)]
    listings = [store.sessions.of_user(user, NOW) for _ in range(20)]
    failures = [store.login_attempts.record_failure("account:a", WINDOW, NOW) for _ in range(20)]
    _, _, counts = await asyncio.gather(
        asyncio.gather(*adds), asyncio.gather(*listings), asyncio.gather(*failures)
    )
    assert sorted(counts) == list(range(1, 21))
    assert len(await store.sessions.of_user(user, NOW)) == 20


async def test_two_stores_on_one_file_share_users_and_sessions(path: Path) -> None:
    """As `coatcheck serve --workers N` does: one file, a connection per process."""
    one, other = await migrated(path), await SqliteStore.open(path)
    try:
        racers = [make_user("race@example.com") for _ in range(10)]
        results = await asyncio.gather(
            *(store.users.add(user) for store in (one, other) for user in racers[:5]),
            return_exceptions=True,
        )
        assert sum(result is None for result in results) == 1
        assert all(isinstance(r, EmailTaken) for r in results if r is not None)

        session = make_session(uuid.uuid4())
        await one.sessions.add(digest_for("a"), session)
        assert await other.sessions.get(digest_for("a")) == session
        await other.sessions.remove(digest_for("a"))
        assert await one.sessions.replace(digest_for("a"), session) is False
        assert await one.users.by_email(Email("race@example.com")) in racers
    finally:
        await one.close()
        await other.close()


async def test_a_reused_user_id_is_not_mistaken_for_a_taken_email(store: SqliteStore) -> None:
    user = make_user("ada@example.com")
    await store.users.add(user)
    with pytest.raises(sqlite3.IntegrityError):
        await store.users.add(evolve(make_user("bob@example.com"), id=user.id))


async def test_a_new_session_sweeps_its_users_expired_ones(tmp_path: Path) -> None:
    store = await migrated(tmp_path / "sweep.sqlite3")
    try:
        user = uuid.uuid4()
        old = make_session(user)
        await store.sessions.add("a" * 64, old)
        await store.sessions.add("b" * 64, make_session(user, now=old.expires_at))
        rows = await store._database.fetch("SELECT digest FROM sessions")
        assert rows == [("b" * 64,)]
    finally:
        await store.close()


async def test_a_log_in_attempt_sweeps_dead_attempt_rows(tmp_path: Path) -> None:
    store = await migrated(tmp_path / "sweep.sqlite3")
    try:
        window = timedelta(minutes=15)
        await store.login_attempts.record_failure("account:old", window, NOW)
        await store.login_attempts.claim_lock("account:locked", NOW + window * 2, NOW)
        later = NOW + window + timedelta(seconds=1)
        await store.login_attempts.record_failure("account:new", window, later)
        rows = await store._database.fetch("SELECT key FROM login_attempts ORDER BY key")
        assert rows == [("account:locked",), ("account:new",)]
    finally:
        await store.close()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The umask most shells run with (0022), which makes files world-readable."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.mark.usefixtures("usual_umask")
async def test_the_embedded_store_and_its_folder_are_its_owners_alone(path: Path) -> None:
    store = await migrated(path)
    try:
        await store.users.add(make_user())  # the write-ahead log and its index exist now
        embedded_session_secret(path.parent)
        modes = {file.name: mode(file) for file in path.parent.iterdir()}
    finally:
        await store.close()

    assert mode(path.parent) == 0o700
    assert set(modes) >= {
        "coatcheck.sqlite3",
        "coatcheck.sqlite3-wal",
        "coatcheck.sqlite3-shm",
        "session_secret",
    }
    assert modes == dict.fromkeys(modes, 0o600)


@pytest.mark.usefixtures("usual_umask")
async def test_a_store_file_others_could_read_is_made_its_owners_alone(path: Path) -> None:
    await migrate_sqlite(path)
    for file in path.parent.iterdir():
        file.chmod(0o644)  # as the first release made it

    store = await SqliteStore.open(path)
    await store.close()

    assert mode(path) == 0o600
    assert all(mode(file) == 0o600 for file in path.parent.iterdir())
