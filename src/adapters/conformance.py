"""Proof, for mypy, that every adapter fits its port. Nothing imports this module."""

from __future__ import annotations

import asyncpg
import redis.asyncio as redis

from adapters.bcrypt_hasher import BcryptHasher
from adapters.clock import FakeClock, SystemClock
from adapters.in_memory import (
    InMemoryLoginAttempts,
    InMemorySessionEvents,
    InMemorySessions,
    InMemoryUsers,
)
from adapters.postgres_users import PostgresUsers
from adapters.redis_login_attempts import RedisLoginAttempts
from adapters.redis_session_events import RedisSessionEvents
from adapters.redis_sessions import RedisSessions
from adapters.sqlite import SqliteStore
from domain.ports import (
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
