"""Users in the embedded store; the email index ignores case (COLLATE NOCASE)."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from coatcheck.adapters.sqlite.connection import Database
from coatcheck.adapters.sqlite.factors import FACTOR_TABLES
from coatcheck.adapters.timestamps import iso_utc
from coatcheck.domain.errors import EmailTaken
from coatcheck.domain.model import Email, Name, User

_COLUMNS = "id, email, name, password_hash, created_at, email_verified"


def _user(row: Sequence[Any]) -> User:
    user_id, email, name, password_hash, created_at, verified = row
    return User(
        uuid.UUID(user_id),
        Email.stored(email),
        Name(name),
        password_hash,
        datetime.fromisoformat(created_at),
        bool(verified),
    )


@contextmanager
def _email_taken_on_conflict() -> Iterator[None]:
    """The email index refusing a row is EmailTaken; any other broken rule is a bug."""
    try:
        yield
    except sqlite3.IntegrityError as error:
        if error.sqlite_errorname != "SQLITE_CONSTRAINT_UNIQUE":
            raise
        raise EmailTaken() from None


def _now() -> str:
    return iso_utc(datetime.now(UTC))


class SqliteUsers:
    _SELECT = f"SELECT {_COLUMNS} FROM users WHERE pending = 0 AND "  # noqa: S608 -- constant

    def __init__(self, database: Database) -> None:
        self._database = database

    async def add(self, user: User, pending: bool = False) -> None:
        """A real user; or a pending one (`pending`), which replaces a pending one of the email."""
        row = (str(user.id), user.email.value, user.name.value, user.password_hash)
        with _email_taken_on_conflict():
            changed = await self._database.change(
                f"INSERT INTO users ({_COLUMNS}, pending)"  # noqa: S608 -- constant columns
                " VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (email) DO UPDATE SET id = excluded.id, name = excluded.name,"
                " password_hash = excluded.password_hash, created_at = excluded.created_at,"
                " email_verified = excluded.email_verified,"
                " pending = excluded.pending WHERE users.pending = 1",
                (*row, iso_utc(user.created_at), user.email_verified, int(pending)),
            )
        if changed == 0:  # a real user holds the email
            raise EmailTaken()

    async def add_pending(self, user: User) -> None:
        await self.add(user, pending=True)

    async def confirm(self, user_id: uuid.UUID) -> bool:
        changed = await self._database.change(
            "UPDATE users SET pending = 0 WHERE id = ? AND pending = 1", (str(user_id),)
        )
        return changed == 1

    async def _one(self, condition: str, value: str) -> User | None:
        rows = await self._database.fetch(self._SELECT + condition, (value,))
        return _user(rows[0]) if rows else None

    async def get(self, user_id: uuid.UUID) -> User | None:
        return await self._one("id = ?", str(user_id))

    async def by_email(self, email: Email) -> User | None:
        return await self._one("email = ?", email.value)

    async def set_password_hash(
        self, user_id: uuid.UUID, password_hash: str, replacing: str
    ) -> bool:
        changed = await self._database.change(
            "UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ? AND password_hash = ?",
            (password_hash, _now(), str(user_id), replacing),
        )
        return changed == 1

    async def verify_email(self, user_id: uuid.UUID, email: Email) -> User | None:
        rows = await self._database.fetch(
            "UPDATE users SET email_verified = 1, updated_at = ? WHERE id = ? AND email = ?"  # noqa: S608
            f" RETURNING {_COLUMNS}",
            (_now(), str(user_id), email.value),
        )
        return _user(rows[0]) if rows else None

    async def change_email(self, user_id: uuid.UUID, email: Email, replacing: Email) -> User | None:
        with _email_taken_on_conflict():
            rows = await self._database.fetch(
                "UPDATE users SET email = ?, email_verified = 1, updated_at = ?"  # noqa: S608
                f" WHERE id = ? AND email = ? RETURNING {_COLUMNS}",
                (email.value, _now(), str(user_id), replacing.value),
            )
        return _user(rows[0]) if rows else None

    async def stored_emails(self) -> list[tuple[uuid.UUID, str]]:
        rows = await self._database.fetch(
            "SELECT id, email FROM users WHERE pending = 0 ORDER BY created_at"
        )
        return [(uuid.UUID(user_id), email) for user_id, email in rows]

    async def remove(self, user_id: uuid.UUID) -> bool:
        async with self._database.transaction() as connection:
            for table in ("account_tokens", "seen_devices", *FACTOR_TABLES):
                await connection.execute(
                    f"DELETE FROM {table} WHERE user_id = ?",  # noqa: S608 -- our tables
                    (str(user_id),),
                )
            cursor = await connection.execute("DELETE FROM users WHERE id = ?", (str(user_id),))
            return cursor.rowcount == 1

    async def ping(self) -> None:
        await self._database.fetch("SELECT 1 FROM users LIMIT 1")
