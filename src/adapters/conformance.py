"""Proof, for mypy, that every adapter fits its port. Nothing imports this module."""

from __future__ import annotations

import asyncpg
import redis.asyncio as redis

from coatcheck.adapters.bcrypt_hasher import BcryptHasher
from coatcheck.adapters.clock import FakeClock, SystemClock
from coatcheck.adapters.memory import (
    InMemoryLoginAttempts,
    InMemorySessionEvents,
    InMemorySessions,
    InMemoryUsers,
)
from coatcheck.adapters.postgres.users import PostgresUsers
from coatcheck.adapters.redis.login_attempts import RedisLoginAttempts
from coatcheck.adapters.redis.session_events import RedisSessionEvents
from coatcheck.adapters.redis.sessions import RedisSessions
from coatcheck.adapters.sqlite import SqliteStore
from coatcheck.domain.ports import (
    Clock,
    HealthCheck,
    LoginAttempts,
    PasswordHasher,
    SessionEventFeed,
    SessionEvents,
    Sessions,
    Users,
)


def _every_adapter_fits(pool: asyncpg.Pool, client: redis.Redis, store: SqliteStore) -> None:
    users: list[Users] = [InMemoryUsers(), PostgresUsers(pool), store.users]
    sessions: list[Sessions] = [InMemorySessions(), RedisSessions(client), store.sessions]
    attempts: list[LoginAttempts] = [
        InMemoryLoginAttempts(),
        RedisLoginAttempts(client),
        store.login_attempts,
    ]
    checks: list[HealthCheck] = [
        InMemoryUsers(),
        PostgresUsers(pool),
        store.users,
        InMemorySessions(),
        RedisSessions(client),
        store.sessions,
    ]
    hashers: list[PasswordHasher] = [BcryptHasher()]
    clocks: list[Clock] = [SystemClock(), FakeClock()]
    events: list[SessionEvents] = [
        InMemorySessionEvents(),
        RedisSessionEvents(client),
        store.session_events,
    ]
    feeds: list[SessionEventFeed] = [
        InMemorySessionEvents(),
        RedisSessionEvents(client),
        store.session_events,
    ]
    del users, sessions, attempts, checks, hashers, clocks, events, feeds
