"""One-time tokens and known devices in PostgreSQL, beside the users they belong to (and
deleted with them: ON DELETE CASCADE). The schema is in adapters/migrations."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from coatcheck.adapters.postgres.pool import Connection, Pooled
from coatcheck.domain.model import Email
from coatcheck.domain.tokens import TokenPurpose, TokenRecord


async def store_token(
    connection: Connection, digest: str, record: TokenRecord, now: datetime
) -> None:
    """Within the caller's transaction: the token, in place of the user's others of its
    purpose (and of every expired one). ForeignKeyViolationError if the user is gone."""
    await connection.execute(
        "DELETE FROM account_tokens WHERE (user_id = $1 AND purpose = $2) OR expires_at <= $3",
        record.user_id,
        record.purpose.value,
        now,
    )
    await connection.execute(
        "INSERT INTO account_tokens (digest, purpose, user_id, email, expires_at)"
        " VALUES ($1, $2, $3, $4, $5)",
        digest,
        record.purpose.value,
        record.user_id,
        record.email.value,
        record.expires_at,
    )


class PostgresAccountTokens(Pooled):
    async def issue(self, digest: str, record: TokenRecord, now: datetime) -> None:
        async with self._connection() as connection:
            # Caught inside the connection's block: any other failure there is StoreUnavailable.
            try:
                async with connection.transaction():
                    await store_token(connection, digest, record, now)
            except asyncpg.ForeignKeyViolationError:
                return  # the user was deleted meanwhile: no token for no one

    async def take(self, digest: str, purpose: TokenPurpose) -> TokenRecord | None:
        async with self._connection() as connection:
            row = await connection.fetchrow(
                "DELETE FROM account_tokens WHERE digest = $1 AND purpose = $2"
                " RETURNING user_id, email, expires_at",
                digest,
                purpose.value,
            )
        if row is None:
            return None
        return TokenRecord(purpose, row["user_id"], Email.stored(row["email"]), row["expires_at"])

    async def discard(self, user_id: uuid.UUID, purposes: Sequence[TokenPurpose]) -> None:
        async with self._connection() as connection:
            await connection.execute(
                "DELETE FROM account_tokens WHERE user_id = $1 AND purpose = ANY($2::text[])",
                user_id,
                [purpose.value for purpose in purposes],
            )


class PostgresKnownDevices(Pooled):
    async def remember(self, user_id: uuid.UUID, fingerprint: str, now: datetime) -> bool:
        async with self._connection() as connection:
            try:
                row = await connection.fetchrow(
                    "WITH added AS (INSERT INTO seen_devices (user_id, fingerprint, first_seen_at)"
                    " VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING 1)"
                    " SELECT EXISTS (SELECT FROM added) AS new, EXISTS (SELECT FROM seen_devices"
                    " WHERE user_id = $1 AND fingerprint != $2) AS others",
                    user_id,
                    fingerprint,
                    now,
                )
            except asyncpg.ForeignKeyViolationError:
                return False  # the user was deleted meanwhile
        return bool(row is not None and row["new"] and row["others"])
