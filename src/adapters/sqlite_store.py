"""The embedded default: users, sessions and log-in attempts in one SQLite file.

The three stores share one aiosqlite connection and take turns on it, so a transaction
never picks up another task's statements. Times are stored as fixed-width ISO 8601 UTC
text, which compares in time order; uuids as text.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite

from domain.errors import EmailTaken, StoreUnavailable
from domain.model import ClientInfo, Email, Name, Session, SessionKind, User
from domain.ports import StoredSession

BUSY_TIMEOUT_MS = 5000

# One tuple of statements per schema version; PRAGMA user_version records how many ran.
_SCHEMA_VERSIONS: tuple[tuple[str, ...], ...] = (
    (
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
    ),
)
SCHEMA_VERSION = len(_SCHEMA_VERSIONS)


_Parameters = Sequence[Any] | Mapping[str, Any]


@contextmanager
def _unavailable_as_domain_error() -> Iterator[None]:
    try:
        yield
    except (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError):
        raise  # a broken rule or a bug, not an unusable file
    except (OSError, sqlite3.Error) as error:
        raise StoreUnavailable("embedded store unavailable") from error


def _text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


class _Database:
    def __init__(self, connection: aiosqlite.Connection) -> None:
        self.connection = connection
        self._turn = asyncio.Lock()

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._turn:
            with _unavailable_as_domain_error():
                yield self.connection

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self.turn() as connection:
            await connection.execute("BEGIN IMMEDIATE")  # take the write lock up front
            try:
                yield connection
                await connection.execute("COMMIT")
            except BaseException:
                await connection.rollback()  # a no-op if COMMIT went through
                raise

    async def fetch(self, sql: str, parameters: _Parameters = ()) -> list[Any]:
        async with self.turn() as connection:
            return list(await connection.execute_fetchall(sql, parameters))

    async def change(self, sql: str, parameters: _Parameters = ()) -> int:
        """Run one statement; return how many rows it changed."""
        async with self.turn() as connection:
            cursor = await connection.execute(sql, parameters)
            return cursor.rowcount


async def _migrate(database: _Database) -> None:
    async with database.transaction() as connection:
        [(version,)] = await connection.execute_fetchall("PRAGMA user_version")
        if version > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(f"schema version {version} is newer than this release's")
        for statements in _SCHEMA_VERSIONS[version:]:
            for statement in statements:
                await connection.execute(statement)
        await connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")


class SqliteStore:
    def __init__(self, database: _Database) -> None:
        self._database = database
        self.users = SqliteUsers(database)
        self.sessions = SqliteSessions(database)
        self.login_attempts = SqliteLoginAttempts(database)

    @classmethod
    async def open(cls, path: Path) -> SqliteStore:
        """Open the file, creating it, its folder and its schema as needed."""
        with _unavailable_as_domain_error():
            path.parent.mkdir(parents=True, exist_ok=True)
            connection = await aiosqlite.connect(path, isolation_level=None)
        try:
            with _unavailable_as_domain_error():
                await connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}")
                await connection.execute_fetchall("PRAGMA journal_mode = WAL")
                await connection.execute("PRAGMA synchronous = NORMAL")  # safe with WAL
            database = _Database(connection)
            await _migrate(database)
        except BaseException:
            await connection.close()
            raise
        return cls(database)

    async def close(self) -> None:
        await self._database.connection.close()


class SqliteUsers:
    _SELECT = "SELECT id, email, name, password_hash, created_at FROM users WHERE "

    def __init__(self, database: _Database) -> None:
        self._database = database

    async def add(self, user: User) -> None:
        row = (str(user.id), user.email.value, user.name.value, user.password_hash)
        try:
            await self._database.change(
                "INSERT INTO users (id, email, name, password_hash, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (*row, _text(user.created_at)),
            )
        except sqlite3.IntegrityError as error:
            if error.sqlite_errorname != "SQLITE_CONSTRAINT_UNIQUE":  # the email index
                raise
            raise EmailTaken() from None

    async def _one(self, condition: str, value: str) -> User | None:
        rows = await self._database.fetch(self._SELECT + condition, (value,))
        if not rows:
            return None
        user_id, email, name, password_hash, created_at = rows[0]
        return User(
            uuid.UUID(user_id),
            Email(email),
            Name(name),
            password_hash,
            datetime.fromisoformat(created_at),
        )

    async def get(self, user_id: uuid.UUID) -> User | None:
        return await self._one("id = ?", str(user_id))

    async def by_email(self, email: Email) -> User | None:
        return await self._one("email = ?", email.value)

    async def set_password_hash(
        self, user_id: uuid.UUID, password_hash: str, replacing: str
    ) -> bool:
        changed = await self._database.change(
            "UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ? AND password_hash = ?",
            (password_hash, _text(datetime.now(UTC)), str(user_id), replacing),
        )
        return changed == 1

    async def ping(self) -> None:
        await self._database.fetch("SELECT 1 FROM users LIMIT 1")


_SESSION_SELECT = (
    "SELECT digest, id, user_id, kind, created_at, last_seen_at, expires_at,"
    " absolute_expires_at, user_agent, address FROM sessions WHERE "
)


def _session_row(digest: str, session: Session) -> dict[str, str]:
    return {
        "digest": digest,
        "id": session.id,
        "user_id": str(session.user_id),
        "kind": session.kind.value,
        "created_at": _text(session.created_at),
        "last_seen_at": _text(session.last_seen_at),
        "expires_at": _text(session.expires_at),
        "absolute_expires_at": _text(session.absolute_expires_at),
        "user_agent": session.client.user_agent,
        "address": session.client.address,
    }


def _stored_session(row: Sequence[str]) -> StoredSession:
    digest, session_id, user_id, kind, *moments, user_agent, address = row
    created_at, last_seen_at, expires_at, absolute_expires_at = map(datetime.fromisoformat, moments)
    return StoredSession(
        digest,
        Session(
            session_id,
            uuid.UUID(user_id),
            SessionKind(kind),
            created_at,
            last_seen_at,
            expires_at,
            absolute_expires_at,
            ClientInfo(user_agent, address),
        ),
    )


class SqliteSessions:
    def __init__(self, database: _Database) -> None:
        self._database = database

    async def add(self, digest: str, session: Session) -> None:
        # Nothing expires rows by itself here: each new session sweeps its user's dead ones.
        async with self._database.transaction() as connection:
            await connection.execute(
                "DELETE FROM sessions WHERE user_id = ? AND expires_at <= ?",
                (str(session.user_id), _text(session.created_at)),
            )
            await connection.execute(
                "INSERT OR REPLACE INTO sessions (digest, id, user_id, kind, created_at,"
                " last_seen_at, expires_at, absolute_expires_at, user_agent, address)"
                " VALUES (:digest, :id, :user_id, :kind, :created_at, :last_seen_at,"
                " :expires_at, :absolute_expires_at, :user_agent, :address)",
                _session_row(digest, session),
            )

    async def get(self, digest: str) -> Session | None:
        rows = await self._database.fetch(_SESSION_SELECT + "digest = ?", (digest,))
        return _stored_session(rows[0]).session if rows else None

    async def replace(self, digest: str, session: Session) -> bool:
        changed = await self._database.change(
            "UPDATE sessions SET id = :id, user_id = :user_id, kind = :kind,"
            " created_at = :created_at, last_seen_at = :last_seen_at, expires_at = :expires_at,"
            " absolute_expires_at = :absolute_expires_at, user_agent = :user_agent,"
            " address = :address WHERE digest = :digest",
            _session_row(digest, session),
        )
        return changed == 1

    async def remove(self, digest: str) -> None:
        await self._database.change("DELETE FROM sessions WHERE digest = ?", (digest,))

    async def of_user(self, user_id: uuid.UUID, now: datetime) -> Sequence[StoredSession]:
        async with self._database.transaction() as connection:
            await connection.execute(
                "DELETE FROM sessions WHERE user_id = ? AND expires_at <= ?",
                (str(user_id), _text(now)),
            )
            rows = await connection.execute_fetchall(
                _SESSION_SELECT + "user_id = ? ORDER BY created_at", (str(user_id),)
            )
        return [_stored_session(row) for row in rows]

    async def remove_of_user(self, user_id: uuid.UUID, keep: str | None = None) -> int:
        return await self._database.change(
            "DELETE FROM sessions WHERE user_id = ? AND digest IS NOT ?", (str(user_id), keep)
        )

    async def ping(self) -> None:
        await self._database.fetch("SELECT 1 FROM sessions LIMIT 1")


class SqliteLoginAttempts:
    def __init__(self, database: _Database) -> None:
        self._database = database

    async def locked_until(self, keys: Sequence[str]) -> datetime | None:
        [(until,)] = await self._database.fetch(
            "SELECT max(locked_until) FROM login_attempts"
            " WHERE key IN (SELECT value FROM json_each(?))",
            (json.dumps(list(keys)),),
        )
        return None if until is None else datetime.fromisoformat(until)

    async def record_failure(self, key: str, window: timedelta, now: datetime) -> int:
        parameters = {"key": key, "now": _text(now), "ends": _text(now + window)}
        async with self._database.transaction() as connection:
            # Rows whose window and lock have both ended are dead: sweep them as we go.
            await connection.execute(
                "DELETE FROM login_attempts WHERE key != :key"
                " AND coalesce(window_ends_at, '') <= :now AND coalesce(locked_until, '') <= :now",
                parameters,
            )
            # A new window starts when there is none or the stored one has ended.
            [(failures,)] = await connection.execute_fetchall(
                "INSERT INTO login_attempts (key, failures, window_ends_at)"
                " VALUES (:key, 1, :ends) ON CONFLICT (key) DO UPDATE SET"
                " failures = iif(coalesce(window_ends_at <= :now, 1), 1, failures + 1),"
                " window_ends_at = iif(coalesce(window_ends_at <= :now, 1), :ends, window_ends_at)"
                " RETURNING failures",
                parameters,
            )
        return int(failures)

    async def claim_lock(self, key: str, until: datetime, now: datetime) -> bool:
        changed = await self._database.change(
            "INSERT INTO login_attempts (key, locked_until) VALUES (:key, :until)"
            " ON CONFLICT (key) DO UPDATE SET locked_until = :until"
            " WHERE locked_until IS NULL OR locked_until <= :now",
            {"key": key, "until": _text(until), "now": _text(now)},
        )
        return changed == 1

    async def clear(self, key: str) -> None:
        await self._database.change("DELETE FROM login_attempts WHERE key = ?", (key,))
