"""Second factors in the embedded store, beside the users they belong to; pending steps."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from coatcheck.adapters.pending_records import decode_step, encode_step
from coatcheck.adapters.sqlite.connection import Database
from coatcheck.adapters.timestamps import iso_utc
from coatcheck.domain.factors import FactorSummary, Passkey, PasskeyName, PendingStep, TotpSetup

_USER_EXISTS = "EXISTS (SELECT 1 FROM users WHERE id = :user_id)"
_PASSKEY_SELECT = (
    "SELECT credential_id, user_id, public_key, sign_count, name, created_at, last_used_at"
    " FROM passkeys WHERE "
)


def _passkey(row: Sequence[Any]) -> Passkey:
    credential_id, user_id, public_key, sign_count, name, created_at, last_used_at = row
    return Passkey(
        bytes(credential_id),
        uuid.UUID(user_id),
        bytes(public_key),
        sign_count,
        PasskeyName(name),
        datetime.fromisoformat(created_at),
        None if last_used_at is None else datetime.fromisoformat(last_used_at),
    )


class SqliteFactors:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def summary(self, user_id: uuid.UUID) -> FactorSummary:
        [(totp, passkeys, codes)] = await self._database.fetch(
            "SELECT (SELECT count(*) FROM totp_factors WHERE user_id = :u AND active),"
            " (SELECT count(*) FROM passkeys WHERE user_id = :u),"
            " (SELECT count(*) FROM recovery_codes WHERE user_id = :u)",
            {"u": str(user_id)},
        )
        return FactorSummary(bool(totp), passkeys, codes)

    async def totp(self, user_id: uuid.UUID) -> TotpSetup | None:
        rows = await self._database.fetch(
            "SELECT sealed_secret, active, last_step FROM totp_factors WHERE user_id = ?",
            (str(user_id),),
        )
        if not rows:
            return None
        sealed, active, last_step = rows[0]
        return TotpSetup(user_id, bytes(sealed), bool(active), last_step)

    async def start_totp(self, user_id: uuid.UUID, sealed_secret: bytes) -> bool:
        return await self._database.changed_one(
            "INSERT INTO totp_factors (user_id, sealed_secret) SELECT :user_id, :sealed"
            f" WHERE {_USER_EXISTS} ON CONFLICT (user_id) DO UPDATE SET"
            " sealed_secret = excluded.sealed_secret, last_step = 0 WHERE NOT active",
            {"user_id": str(user_id), "sealed": sealed_secret},
        )

    async def activate_totp(self, user_id: uuid.UUID, sealed_secret: bytes, step: int) -> bool:
        return await self._database.changed_one(
            "UPDATE totp_factors SET active = 1, last_step = ?"
            " WHERE user_id = ? AND sealed_secret = ? AND NOT active",
            (step, str(user_id), sealed_secret),
        )

    async def use_totp_step(self, user_id: uuid.UUID, step: int) -> bool:
        return await self._database.changed_one(
            "UPDATE totp_factors SET last_step = ? WHERE user_id = ? AND active AND last_step < ?",
            (step, str(user_id), step),
        )

    async def remove_totp(self, user_id: uuid.UUID) -> bool:
        return await self._database.changed_one(
            "DELETE FROM totp_factors WHERE user_id = ?", (str(user_id),)
        )

    async def set_recovery_codes(self, user_id: uuid.UUID, digests: Sequence[str]) -> None:
        async with self._database.transaction() as connection:
            await connection.execute(
                "DELETE FROM recovery_codes WHERE user_id = ?", (str(user_id),)
            )
            await connection.executemany(
                "INSERT INTO recovery_codes (user_id, digest) SELECT :user_id, :digest"
                f" WHERE {_USER_EXISTS}",
                [{"user_id": str(user_id), "digest": digest} for digest in digests],
            )

    async def use_recovery_code(self, user_id: uuid.UUID, digest: str) -> bool:
        return await self._database.changed_one(
            "DELETE FROM recovery_codes WHERE user_id = ? AND digest = ?",
            (str(user_id), digest),
        )

    async def add_passkey(self, passkey: Passkey) -> bool:
        return await self._database.changed_one(
            "INSERT INTO passkeys (credential_id, user_id, public_key, sign_count, name,"
            " created_at, last_used_at) SELECT :credential_id, :user_id, :public_key,"
            f" :sign_count, :name, :created_at, NULL WHERE {_USER_EXISTS}"
            " ON CONFLICT DO NOTHING",
            {
                "credential_id": passkey.credential_id,
                "user_id": str(passkey.user_id),
                "public_key": passkey.public_key,
                "sign_count": passkey.sign_count,
                "name": passkey.name.value,
                "created_at": iso_utc(passkey.created_at),
            },
        )

    async def passkeys(self, user_id: uuid.UUID) -> Sequence[Passkey]:
        rows = await self._database.fetch(
            _PASSKEY_SELECT + "user_id = ? ORDER BY created_at", (str(user_id),)
        )
        return [_passkey(row) for row in rows]

    async def passkey(self, credential_id: bytes) -> Passkey | None:
        rows = await self._database.fetch(_PASSKEY_SELECT + "credential_id = ?", (credential_id,))
        return _passkey(rows[0]) if rows else None

    async def rename_passkey(
        self, user_id: uuid.UUID, credential_id: bytes, name: PasskeyName
    ) -> bool:
        return await self._database.changed_one(
            "UPDATE passkeys SET name = ? WHERE credential_id = ? AND user_id = ?",
            (name.value, credential_id, str(user_id)),
        )

    async def remove_passkey(self, user_id: uuid.UUID, credential_id: bytes) -> bool:
        return await self._database.changed_one(
            "DELETE FROM passkeys WHERE credential_id = ? AND user_id = ?",
            (credential_id, str(user_id)),
        )

    async def use_passkey(
        self, credential_id: bytes, replacing_count: int, sign_count: int, now: datetime
    ) -> bool:
        return await self._database.changed_one(
            "UPDATE passkeys SET sign_count = ?, last_used_at = ?"
            " WHERE credential_id = ? AND sign_count = ?",
            (sign_count, iso_utc(now), credential_id, replacing_count),
        )

    async def remove_all(self, user_id: uuid.UUID) -> FactorSummary:
        had = await self.summary(user_id)
        async with self._database.transaction() as connection:
            for table in FACTOR_TABLES:
                await connection.execute(
                    f"DELETE FROM {table} WHERE user_id = ?",  # noqa: S608 -- our tables
                    (str(user_id),),
                )
        return had


FACTOR_TABLES = ("totp_factors", "recovery_codes", "passkeys")


class SqlitePendingSteps:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def put(self, key: str, step: PendingStep, now: datetime) -> None:
        # Nothing expires rows by itself here: each new step sweeps the dead ones.
        async with self._database.transaction() as connection:
            await connection.execute(
                "DELETE FROM pending_steps WHERE expires_at <= ?", (iso_utc(now),)
            )
            await connection.execute(
                "INSERT OR REPLACE INTO pending_steps (key, record, expires_at) VALUES (?, ?, ?)",
                (key, encode_step(step), iso_utc(step.expires_at)),
            )

    async def get(self, key: str) -> PendingStep | None:
        rows = await self._database.fetch("SELECT record FROM pending_steps WHERE key = ?", (key,))
        return decode_step(rows[0][0]) if rows else None

    async def take(self, key: str) -> PendingStep | None:
        rows = await self._database.fetch(
            "DELETE FROM pending_steps WHERE key = ? RETURNING record", (key,)
        )
        return decode_step(rows[0][0]) if rows else None
