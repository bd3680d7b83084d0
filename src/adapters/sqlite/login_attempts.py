"""Failed log-in counts and locks in the embedded store, a row per throttle key."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta

from coatcheck.adapters.sqlite.connection import Database
from coatcheck.adapters.timestamps import iso_utc


class SqliteLoginAttempts:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def locked_until(self, keys: Sequence[str]) -> datetime | None:
        [(until,)] = await self._database.fetch(
            "SELECT max(locked_until) FROM login_attempts"
            " WHERE key IN (SELECT value FROM json_each(?))",
            (json.dumps(list(keys)),),
        )
        return None if until is None else datetime.fromisoformat(until)

    async def record_failure(
        self, key: str, window: timedelta, now: datetime, sliding: bool = False
    ) -> int:
        parameters = {
            "key": key,
            "now": iso_utc(now),
            "ends": iso_utc(now + window),
            "sliding": sliding,
        }
        async with self._database.transaction() as connection:
            # Rows whose window and lock have both ended are dead: sweep them as we go.
            await connection.execute(
                "DELETE FROM login_attempts WHERE key != :key"
                " AND coalesce(window_ends_at, '') <= :now AND coalesce(locked_until, '') <= :now",
                parameters,
            )
            # A new window starts when there is none or the stored one has ended; a sliding
            # one is moved on by every attempt.
            [(failures,)] = await connection.execute_fetchall(
                "INSERT INTO login_attempts (key, failures, window_ends_at)"
                " VALUES (:key, 1, :ends) ON CONFLICT (key) DO UPDATE SET"
                " failures = iif(coalesce(window_ends_at <= :now, 1), 1, failures + 1),"
                " window_ends_at = iif(coalesce(window_ends_at <= :now, 1) OR :sliding,"
                " :ends, window_ends_at) RETURNING failures",
                parameters,
            )
        return int(failures)

    async def claim_lock(self, key: str, until: datetime, now: datetime) -> bool:
        return await self._database.changed_one(
            "INSERT INTO login_attempts (key, locked_until) VALUES (:key, :until)"
            " ON CONFLICT (key) DO UPDATE SET locked_until = :until"
            " WHERE locked_until IS NULL OR locked_until <= :now",
            {"key": key, "until": iso_utc(until), "now": iso_utc(now)},
        )

    async def clear(self, key: str) -> None:
        await self._database.change("DELETE FROM login_attempts WHERE key = ?", (key,))

    async def trust(self, owner: str, device: str, until: datetime, now: datetime) -> None:
        async with self._database.transaction() as connection:
            # Nothing expires rows by itself here: each new one sweeps those that have ended.
            await connection.execute(
                "DELETE FROM known_devices WHERE trusted_until <= ?", (iso_utc(now),)
            )
            await connection.execute(
                "INSERT INTO known_devices (owner, device, trusted_until)"
                " VALUES (:owner, :device, :until)"
                " ON CONFLICT (owner, device) DO UPDATE SET trusted_until = :until",
                {"owner": owner, "device": device, "until": iso_utc(until)},
            )

    async def trusted(self, owner: str, device: str, now: datetime) -> bool:
        rows = await self._database.fetch(
            "SELECT 1 FROM known_devices WHERE owner = ? AND device = ? AND trusted_until > ?",
            (owner, device, iso_utc(now)),
        )
        return bool(rows)

    async def forget_devices(self, owner: str, keep: str | None = None) -> None:
        await self._database.change(
            "DELETE FROM known_devices WHERE owner = ? AND device IS NOT ?", (owner, keep)
        )
