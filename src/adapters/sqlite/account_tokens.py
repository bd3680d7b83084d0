"""One-time tokens and known devices in the embedded store, beside the users they belong to."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import aiosqlite

from coatcheck.adapters.sqlite.connection import Database
from coatcheck.adapters.timestamps import iso_utc
from coatcheck.domain.model import Email
from coatcheck.domain.tokens import TokenPurpose, TokenRecord


async def store_token(
    connection: aiosqlite.Connection, digest: str, record: TokenRecord, now: datetime
) -> None:
    """Within the caller's transaction: the token, in place of the user's others of its
    purpose (and of every expired one)."""
    await connection.execute(
        "DELETE FROM account_tokens WHERE (user_id = ? AND purpose = ?) OR expires_at <= ?",
        (str(record.user_id), record.purpose.value, iso_utc(now)),
    )
    await connection.execute(
        "INSERT INTO account_tokens (digest, purpose, user_id, email, expires_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (
            digest,
            record.purpose.value,
            str(record.user_id),
            record.email.value,
            iso_utc(record.expires_at),
        ),
    )


class SqliteAccountTokens:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def issue(self, digest: str, record: TokenRecord, now: datetime) -> None:
        async with self._database.transaction() as connection:
            await store_token(connection, digest, record, now)

    async def take(self, digest: str, purpose: TokenPurpose) -> TokenRecord | None:
        rows = await self._database.fetch(
            "DELETE FROM account_tokens WHERE digest = ? AND purpose = ?"
            " RETURNING user_id, email, expires_at",
            (digest, purpose.value),
        )
        if not rows:
            return None
        user_id, email, expires_at = rows[0]
        return TokenRecord(
            purpose, uuid.UUID(user_id), Email.stored(email), datetime.fromisoformat(expires_at)
        )

    async def discard(self, user_id: uuid.UUID, purposes: Sequence[TokenPurpose]) -> None:
        for purpose in purposes:
            await self._database.change(
                "DELETE FROM account_tokens WHERE user_id = ? AND purpose = ?",
                (str(user_id), purpose.value),
            )


class SqliteKnownDevices:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def remember(self, user_id: uuid.UUID, fingerprint: str, now: datetime) -> bool:
        async with self._database.transaction() as connection:
            [(others,)] = await connection.execute_fetchall(
                "SELECT count(*) FROM seen_devices WHERE user_id = ? AND fingerprint != ?",
                (str(user_id), fingerprint),
            )
            cursor = await connection.execute(
                "INSERT INTO seen_devices (user_id, fingerprint, first_seen_at) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (str(user_id), fingerprint, iso_utc(now)),
            )
        return cursor.rowcount == 1 and others > 0
