"""Second factors in PostgreSQL, beside the users they belong to (and deleted with them:
ON DELETE CASCADE). The schema is in adapters/postgres/migrations."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from coatcheck.adapters.postgres.pool import Pooled
from coatcheck.domain.factors import FactorSummary, Passkey, PasskeyName, TotpSetup

_PASSKEY_SELECT = (
    "SELECT credential_id, user_id, public_key, sign_count, name, created_at, last_used_at"
    " FROM passkeys WHERE "
)
_SUMMARY = (
    "SELECT EXISTS (SELECT FROM totp_factors WHERE user_id = $1 AND active) AS totp,"
    " (SELECT count(*) FROM passkeys WHERE user_id = $1) AS passkeys,"
    " (SELECT count(*) FROM recovery_codes WHERE user_id = $1) AS codes"
)


def _passkey(row: asyncpg.Record) -> Passkey:
    return Passkey(
        bytes(row["credential_id"]),
        row["user_id"],
        bytes(row["public_key"]),
        row["sign_count"],
        PasskeyName(row["name"]),
        row["created_at"],
        row["last_used_at"],
    )


def _summary(row: asyncpg.Record | None) -> FactorSummary:
    if row is None:
        return FactorSummary()
    return FactorSummary(row["totp"], row["passkeys"], row["codes"])


class PostgresFactors(Pooled):
    async def summary(self, user_id: uuid.UUID) -> FactorSummary:
        async with self._connection() as connection:
            return _summary(await connection.fetchrow(_SUMMARY, user_id))

    async def totp(self, user_id: uuid.UUID) -> TotpSetup | None:
        async with self._connection() as connection:
            row = await connection.fetchrow(
                "SELECT sealed_secret, active, last_step FROM totp_factors WHERE user_id = $1",
                user_id,
            )
        if row is None:
            return None
        return TotpSetup(user_id, bytes(row["sealed_secret"]), row["active"], row["last_step"])

    async def start_totp(self, user_id: uuid.UUID, sealed_secret: bytes) -> bool:
        async with self._connection() as connection:
            try:
                status = await connection.execute(
                    "INSERT INTO totp_factors (user_id, sealed_secret) VALUES ($1, $2)"
                    " ON CONFLICT (user_id) DO UPDATE SET sealed_secret = excluded.sealed_secret,"
                    " last_step = 0 WHERE NOT totp_factors.active",
                    user_id,
                    sealed_secret,
                )
            except asyncpg.ForeignKeyViolationError:
                return False  # the user was deleted meanwhile
        return status == "INSERT 0 1"

    async def activate_totp(self, user_id: uuid.UUID, sealed_secret: bytes, step: int) -> bool:
        return await self._changed_one(
            "UPDATE totp_factors SET active = true, last_step = $3"
            " WHERE user_id = $1 AND sealed_secret = $2 AND NOT active",
            user_id,
            sealed_secret,
            step,
        )

    async def use_totp_step(self, user_id: uuid.UUID, step: int) -> bool:
        return await self._changed_one(
            "UPDATE totp_factors SET last_step = $2"
            " WHERE user_id = $1 AND active AND last_step < $2",
            user_id,
            step,
        )

    async def remove_totp(self, user_id: uuid.UUID) -> bool:
        return await self._changed_one("DELETE FROM totp_factors WHERE user_id = $1", user_id)

    async def set_recovery_codes(self, user_id: uuid.UUID, digests: Sequence[str]) -> None:
        async with self._connection() as connection:
            try:
                async with connection.transaction():
                    await connection.execute(
                        "DELETE FROM recovery_codes WHERE user_id = $1", user_id
                    )
                    await connection.execute(
                        "INSERT INTO recovery_codes (user_id, digest)"
                        " SELECT $1, unnest($2::text[])",
                        user_id,
                        list(digests),
                    )
            except asyncpg.ForeignKeyViolationError:
                return  # the user was deleted meanwhile

    async def use_recovery_code(self, user_id: uuid.UUID, digest: str) -> bool:
        return await self._changed_one(
            "DELETE FROM recovery_codes WHERE user_id = $1 AND digest = $2", user_id, digest
        )

    async def add_passkey(self, passkey: Passkey) -> bool:
        async with self._connection() as connection:
            try:
                status = await connection.execute(
                    "INSERT INTO passkeys (credential_id, user_id, public_key, sign_count, name,"
                    " created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                    passkey.credential_id,
                    passkey.user_id,
                    passkey.public_key,
                    passkey.sign_count,
                    passkey.name.value,
                    passkey.created_at,
                )
            except asyncpg.ForeignKeyViolationError:
                return False
        return status == "INSERT 0 1"

    async def passkeys(self, user_id: uuid.UUID) -> Sequence[Passkey]:
        async with self._connection() as connection:
            rows = await connection.fetch(
                _PASSKEY_SELECT + "user_id = $1 ORDER BY created_at", user_id
            )
        return [_passkey(row) for row in rows]

    async def passkey(self, credential_id: bytes) -> Passkey | None:
        async with self._connection() as connection:
            row = await connection.fetchrow(_PASSKEY_SELECT + "credential_id = $1", credential_id)
        return None if row is None else _passkey(row)

    async def rename_passkey(
        self, user_id: uuid.UUID, credential_id: bytes, name: PasskeyName
    ) -> bool:
        return await self._changed_one(
            "UPDATE passkeys SET name = $3 WHERE credential_id = $1 AND user_id = $2",
            credential_id,
            user_id,
            name.value,
        )

    async def remove_passkey(self, user_id: uuid.UUID, credential_id: bytes) -> bool:
        return await self._changed_one(
            "DELETE FROM passkeys WHERE credential_id = $1 AND user_id = $2",
            credential_id,
            user_id,
        )

    async def use_passkey(
        self, credential_id: bytes, replacing_count: int, sign_count: int, now: datetime
    ) -> bool:
        return await self._changed_one(
            "UPDATE passkeys SET sign_count = $3, last_used_at = $4"
            " WHERE credential_id = $1 AND sign_count = $2",
            credential_id,
            replacing_count,
            sign_count,
            now,
        )

    async def remove_all(self, user_id: uuid.UUID) -> FactorSummary:
        async with self._connection() as connection, connection.transaction():
            had = _summary(await connection.fetchrow(_SUMMARY, user_id))
            for table in ("totp_factors", "recovery_codes", "passkeys"):
                await connection.execute(
                    f"DELETE FROM {table} WHERE user_id = $1",  # noqa: S608 -- our tables
                    user_id,
                )
        return had
