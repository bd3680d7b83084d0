"""The embedded default: users (with their one-time tokens and known devices), sessions and
log-in attempts in one SQLite file."""

from __future__ import annotations

from pathlib import Path

from coatcheck.adapters.sqlite.account_tokens import SqliteAccountTokens, SqliteKnownDevices
from coatcheck.adapters.sqlite.connection import Database
from coatcheck.adapters.sqlite.factors import SqliteFactors, SqlitePendingSteps
from coatcheck.adapters.sqlite.login_attempts import SqliteLoginAttempts
from coatcheck.adapters.sqlite.migrations import check_schema
from coatcheck.adapters.sqlite.milestones import SqliteMilestones
from coatcheck.adapters.sqlite.outbox import SqliteOutboxStore
from coatcheck.adapters.sqlite.session_events import SqliteSessionEvents
from coatcheck.adapters.sqlite.sessions import SqliteSessions
from coatcheck.adapters.sqlite.users import SqliteUsers


class SqliteStore:
    """The adapters, on the one connection they share."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self.users = SqliteUsers(database)
        self.sessions = SqliteSessions(database)
        self.login_attempts = SqliteLoginAttempts(database)
        self.account_tokens = SqliteAccountTokens(database)
        self.known_devices = SqliteKnownDevices(database)
        self.session_events = SqliteSessionEvents(database)
        self.outbox = SqliteOutboxStore(database)
        self.factors = SqliteFactors(database)
        self.pending_steps = SqlitePendingSteps(database)
        self.milestones = SqliteMilestones(database)

    @classmethod
    async def open(cls, path: Path) -> SqliteStore:
        """Open the file, whose schema must be current (see migrate_sqlite): SchemaNotCurrent
        if not, StoreUnavailable if no database can be opened there."""
        database = await Database.connect(path)
        try:
            await check_schema(database)
        except BaseException:
            await database.close()
            raise
        return cls(database)

    async def close(self) -> None:
        await self._database.close()
