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
    _SELECT = "SELECT id, email, name, password_hash, created_at FROM users WHERE "

    def __init__(self, database: Database) -> None:
        self._database = database

    async def add(self, user: User) -> None:
        row = (str(user.id), user.email.value, user.name.value, user.password_hash)
        try:
            await self._database.change(
                "INSERT INTO users (id, email, name, password_hash, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (*row, iso_utc(user.created_at)),
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
            (password_hash, iso_utc(datetime.now(UTC)), str(user_id), replacing),
        )
        return changed == 1

    async def ping(self) -> None:
        await self._database.fetch("SELECT 1 FROM users LIMIT 1")
