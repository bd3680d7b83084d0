"""Milestones in the embedded store, a row each."""

from __future__ import annotations

from datetime import datetime

from coatcheck.adapters.sqlite.connection import Database
from coatcheck.adapters.timestamps import iso_utc


class SqliteMilestones:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def first(self, name: str, moment: datetime) -> datetime:
        async with self._database.transaction() as connection:
            await connection.execute(
                "INSERT INTO milestones (name, moment) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
                (name, iso_utc(moment)),
            )
            [(stored,)] = await connection.execute_fetchall(
                "SELECT moment FROM milestones WHERE name = ?", (name,)
            )
        return datetime.fromisoformat(stored)
