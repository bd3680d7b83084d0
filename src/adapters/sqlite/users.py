"""Users in the embedded store; the email index ignores case (COLLATE NOCASE)."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import UTC, datetime

from adapters.sqlite.connection import Database
from adapters.timestamps import iso_utc
from domain.errors import EmailTaken
from domain.model import Email, Name, User


class SqliteUsers:
    _SELECT = "SELECT id, email, name, password_hash, created_at FROM users WHERE pending = 0 AND "

    def __init__(self, database: Database) -> None:
        self._database = database

    async def add(self, user: User, pending: bool = False) -> None:
        """A real user; or a pending one (`pending`), which replaces a pending one of the email."""
        row = (str(user.id), user.email.value, user.name.value, user.password_hash)
        try:
            changed = await self._database.change(
                "INSERT INTO users (id, email, name, password_hash, created_at, pending)"
                " VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (email) DO UPDATE SET id = excluded.id, name = excluded.name,"
                " password_hash = excluded.password_hash, created_at = excluded.created_at,"
                " pending = excluded.pending WHERE users.pending = 1",
                (*row, iso_utc(user.created_at), int(pending)),
            )
        except sqlite3.IntegrityError as error:
            if error.sqlite_errorname != "SQLITE_CONSTRAINT_UNIQUE":  # the email index
                raise
            raise EmailTaken() from None
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
            (password_hash, iso_utc(datetime.now(UTC)), str(user_id), replacing),
        )
        return changed == 1

    async def ping(self) -> None:
        await self._database.fetch("SELECT 1 FROM users LIMIT 1")
