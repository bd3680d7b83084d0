"""The embedded store: one SQLite file, its versioned schema, an adapter per port."""

from coatcheck.adapters.sqlite.account_tokens import SqliteAccountTokens, SqliteKnownDevices
from coatcheck.adapters.sqlite.login_attempts import SqliteLoginAttempts
from coatcheck.adapters.sqlite.migrations import SchemaNotCurrent, migrate_sqlite
from coatcheck.adapters.sqlite.session_events import SqliteSessionEvents
from coatcheck.adapters.sqlite.sessions import SqliteSessions
from coatcheck.adapters.sqlite.store import SqliteStore
from coatcheck.adapters.sqlite.users import SqliteUsers

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
