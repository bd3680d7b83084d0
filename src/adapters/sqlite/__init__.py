"""The embedded store: one SQLite file, its versioned schema, an adapter per port."""

from adapters.sqlite.account_tokens import SqliteAccountTokens, SqliteKnownDevices
from adapters.sqlite.login_attempts import SqliteLoginAttempts
from adapters.sqlite.migrations import SchemaNotCurrent, migrate_sqlite
from adapters.sqlite.session_events import SqliteSessionEvents
from adapters.sqlite.sessions import SqliteSessions
from adapters.sqlite.store import SqliteStore
from adapters.sqlite.users import SqliteUsers

__all__ = [
    "SchemaNotCurrent",
    "SqliteAccountTokens",
    "SqliteKnownDevices",
    "SqliteLoginAttempts",
    "SqliteSessionEvents",
    "SqliteSessions",
    "SqliteStore",
    "SqliteUsers",
    "migrate_sqlite",
]
