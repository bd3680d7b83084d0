"""Every adapter of a port, behind one fixture per port: the contract suites run on each."""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import attrs
import pytest
import redis.asyncio as redis
from redis.asyncio.cluster import RedisCluster

from coatcheck.adapters.memory import (
    InMemoryAccountTokens,
    InMemoryFactors,
    InMemoryKnownDevices,
    InMemoryLoginAttempts,
    InMemoryMilestones,
    InMemoryOutboxStore,
    InMemoryPendingSteps,
    InMemorySessionEvents,
    InMemorySessions,
    InMemoryUsers,
)
from coatcheck.adapters.postgres.account_tokens import PostgresAccountTokens, PostgresKnownDevices
from coatcheck.adapters.postgres.factors import PostgresFactors
from coatcheck.adapters.postgres.migrations import migrate
from coatcheck.adapters.postgres.outbox import PostgresOutboxStore
from coatcheck.adapters.postgres.pool import create_pool
from coatcheck.adapters.postgres.users import PostgresUsers
from coatcheck.adapters.redis.client import open_redis
from coatcheck.adapters.redis.login_attempts import RedisLoginAttempts
from coatcheck.adapters.redis.milestones import RedisMilestones
from coatcheck.adapters.redis.pending_steps import RedisPendingSteps
from coatcheck.adapters.redis.session_events import RedisSessionEvents
from coatcheck.adapters.redis.sessions import RedisSessions
from coatcheck.adapters.sqlite import SqliteStore, migrate_sqlite


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    path = tmp_path / "coatcheck.sqlite3"
    await migrate_sqlite(path)
    store = await SqliteStore.open(path)
    yield store
    await store.close()


@pytest.fixture
async def redis_client(redis_space: tuple[str, str]) -> AsyncIterator[redis.Redis]:
    client = redis.Redis.from_url(redis_space[0])
    yield client
    await client.aclose()


@pytest.fixture
async def postgres_pool(postgres_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    await migrate(postgres_dsn)
    pool = await create_pool(postgres_dsn)
    yield pool
    await pool.close()


@pytest.fixture
def postgres_users(postgres_pool: asyncpg.Pool) -> PostgresUsers:
    return PostgresUsers(postgres_pool)


@pytest.fixture
def memory_users() -> InMemoryUsers:
    return InMemoryUsers()


@pytest.fixture
def sqlite_users(sqlite_store: SqliteStore) -> object:
    return sqlite_store.users


@pytest.fixture
def memory_sessions() -> InMemorySessions:
    return InMemorySessions()


@pytest.fixture
def sqlite_sessions(sqlite_store: SqliteStore) -> object:
    return sqlite_store.sessions


@pytest.fixture
def redis_sessions(redis_client: redis.Redis, redis_space: tuple[str, str]) -> RedisSessions:
    return RedisSessions(redis_client, prefix=redis_space[1])


@pytest.fixture
async def cluster_client(redis_cluster_space: tuple[str, str]) -> AsyncIterator[RedisCluster]:
    client = await open_redis(redis_cluster_space[0], cluster=True)
    assert isinstance(client, RedisCluster)
    yield client
    await client.aclose()


@pytest.fixture
def redis_cluster_sessions(
    cluster_client: RedisCluster, redis_cluster_space: tuple[str, str]
) -> RedisSessions:
    return RedisSessions(cluster_client, prefix=redis_cluster_space[1])


@pytest.fixture
def redis_cluster_login_attempts(
    cluster_client: RedisCluster, redis_cluster_space: tuple[str, str]
) -> RedisLoginAttempts:
    return RedisLoginAttempts(cluster_client, prefix=redis_cluster_space[1])


@pytest.fixture
def memory_login_attempts() -> InMemoryLoginAttempts:
    return InMemoryLoginAttempts()


@pytest.fixture
def sqlite_login_attempts(sqlite_store: SqliteStore) -> object:
    return sqlite_store.login_attempts


@pytest.fixture
def redis_login_attempts(
    redis_client: redis.Redis, redis_space: tuple[str, str]
) -> RedisLoginAttempts:
    return RedisLoginAttempts(redis_client, prefix=redis_space[1])


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def users(request: pytest.FixtureRequest) -> object:
    return request.getfixturevalue(f"{request.param}_users")


@attrs.frozen
class UserStore:
    """A store set's users with what they own: one-time tokens, known devices."""

    users: Any
    tokens: Any
    devices: Any


@pytest.fixture
def memory_user_store() -> UserStore:
    tokens, devices = InMemoryAccountTokens(), InMemoryKnownDevices()
    return UserStore(InMemoryUsers(tokens, devices), tokens, devices)


@pytest.fixture
def sqlite_user_store(sqlite_store: SqliteStore) -> UserStore:
    store = sqlite_store
    return UserStore(store.users, store.account_tokens, store.known_devices)


@pytest.fixture
def postgres_user_store(postgres_pool: asyncpg.Pool) -> UserStore:
    return UserStore(
        PostgresUsers(postgres_pool),
        PostgresAccountTokens(postgres_pool),
        PostgresKnownDevices(postgres_pool),
    )


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def user_store(request: pytest.FixtureRequest) -> UserStore:
    store: UserStore = request.getfixturevalue(f"{request.param}_user_store")
    return store


# A Sessions adapter of one's own (docs/extending.md): "module:factory", an async generator.
PLUGIN_SESSIONS = os.environ.get("COATCHECK_CONTRACT_SESSIONS")


@pytest.fixture
async def plugin_sessions() -> AsyncIterator[object]:
    assert PLUGIN_SESSIONS is not None
    module, _, factory = PLUGIN_SESSIONS.partition(":")
    opened = contextlib.asynccontextmanager(getattr(importlib.import_module(module), factory))
    async with opened() as adapter:
        yield adapter


@pytest.fixture(
    params=["memory", "sqlite", "redis", "redis_cluster", *(["plugin"] if PLUGIN_SESSIONS else [])]
)
def sessions(request: pytest.FixtureRequest) -> object:
    return request.getfixturevalue(f"{request.param}_sessions")


@pytest.fixture(params=["memory", "sqlite", "redis", "redis_cluster"])
def login_attempts(request: pytest.FixtureRequest) -> object:
    return request.getfixturevalue(f"{request.param}_login_attempts")


@pytest.fixture
async def memory_session_events() -> tuple[object, object]:
    events = InMemorySessionEvents()
    return events, events  # in process only: one object publishes and listens


@pytest.fixture
async def sqlite_session_events(
    sqlite_store: SqliteStore, tmp_path: Path
) -> AsyncIterator[tuple[object, object]]:
    """Two stores on one file, as two worker processes have."""
    other = await SqliteStore.open(tmp_path / "coatcheck.sqlite3")
    yield sqlite_store.session_events, other.session_events
    await other.close()


@pytest.fixture
async def redis_session_events(
    redis_client: redis.Redis, redis_space: tuple[str, str]
) -> AsyncIterator[tuple[object, object]]:
    """Two clients, as two instances have."""
    other = redis.Redis.from_url(redis_space[0])
    yield (
        RedisSessionEvents(redis_client, prefix=redis_space[1]),
        RedisSessionEvents(other, prefix=redis_space[1]),
    )
    await other.aclose()


@pytest.fixture
async def redis_cluster_session_events(
    cluster_client: RedisCluster, redis_cluster_space: tuple[str, str]
) -> AsyncIterator[tuple[object, object]]:
    other = await open_redis(redis_cluster_space[0], cluster=True)
    yield (
        RedisSessionEvents(cluster_client, prefix=redis_cluster_space[1]),
        RedisSessionEvents(other, prefix=redis_cluster_space[1]),
    )
    await other.aclose()


@pytest.fixture(params=["memory", "sqlite", "redis", "redis_cluster"])
def session_events(request: pytest.FixtureRequest) -> object:
    """(publisher, listener): two adapters on one store, each as one instance has it."""
    return request.getfixturevalue(f"{request.param}_session_events")


@attrs.frozen
class OutboxStores:
    """An outbox store, another handle on the same store (another process's), and the users and
    tokens beside them."""

    outbox: Any
    other: Any
    users: Any
    tokens: Any


@pytest.fixture
def memory_outbox_stores() -> OutboxStores:
    tokens = InMemoryAccountTokens()
    users = InMemoryUsers(tokens)
    outbox = InMemoryOutboxStore(users, tokens)
    return OutboxStores(outbox, outbox, users, tokens)


@pytest.fixture
async def sqlite_outbox_stores(
    sqlite_store: SqliteStore, tmp_path: Path
) -> AsyncIterator[OutboxStores]:
    other = await SqliteStore.open(tmp_path / "coatcheck.sqlite3")
    store = sqlite_store
    yield OutboxStores(store.outbox, other.outbox, store.users, store.account_tokens)
    await other.close()


@pytest.fixture
async def postgres_outbox_stores(
    postgres_pool: asyncpg.Pool, postgres_dsn: str
) -> AsyncIterator[OutboxStores]:
    other = await create_pool(postgres_dsn)
    yield OutboxStores(
        PostgresOutboxStore(postgres_pool),
        PostgresOutboxStore(other),
        PostgresUsers(postgres_pool),
        PostgresAccountTokens(postgres_pool),
    )
    await other.close()


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def outbox_stores(request: pytest.FixtureRequest) -> OutboxStores:
    stores: OutboxStores = request.getfixturevalue(f"{request.param}_outbox_stores")
    return stores


@attrs.frozen
class FactorStore:
    """A store set's users with their second factors."""

    users: Any
    factors: Any


@pytest.fixture
def memory_factor_store() -> FactorStore:
    factors = InMemoryFactors()
    users = InMemoryUsers(factors)
    factors.owners = users.by_id
    return FactorStore(users, factors)


@pytest.fixture
def sqlite_factor_store(sqlite_store: SqliteStore) -> FactorStore:
    return FactorStore(sqlite_store.users, sqlite_store.factors)


@pytest.fixture
def postgres_factor_store(postgres_pool: asyncpg.Pool) -> FactorStore:
    return FactorStore(PostgresUsers(postgres_pool), PostgresFactors(postgres_pool))


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def factor_store(request: pytest.FixtureRequest) -> FactorStore:
    store: FactorStore = request.getfixturevalue(f"{request.param}_factor_store")
    return store


@pytest.fixture
def memory_pending_steps() -> InMemoryPendingSteps:
    return InMemoryPendingSteps()


@pytest.fixture
def sqlite_pending_steps(sqlite_store: SqliteStore) -> object:
    return sqlite_store.pending_steps


@pytest.fixture
def redis_pending_steps(
    redis_client: redis.Redis, redis_space: tuple[str, str]
) -> RedisPendingSteps:
    return RedisPendingSteps(redis_client, prefix=redis_space[1])


@pytest.fixture
def redis_cluster_pending_steps(
    cluster_client: RedisCluster, redis_cluster_space: tuple[str, str]
) -> RedisPendingSteps:
    return RedisPendingSteps(cluster_client, prefix=redis_cluster_space[1])


@pytest.fixture(params=["memory", "sqlite", "redis", "redis_cluster"])
def pending_steps(request: pytest.FixtureRequest) -> object:
    return request.getfixturevalue(f"{request.param}_pending_steps")


@pytest.fixture
def memory_milestones() -> InMemoryMilestones:
    return InMemoryMilestones()


@pytest.fixture
def sqlite_milestones(sqlite_store: SqliteStore) -> object:
    return sqlite_store.milestones


@pytest.fixture
def redis_milestones(redis_client: redis.Redis, redis_space: tuple[str, str]) -> RedisMilestones:
    return RedisMilestones(redis_client, prefix=redis_space[1])


@pytest.fixture
def redis_cluster_milestones(
    cluster_client: RedisCluster, redis_cluster_space: tuple[str, str]
) -> RedisMilestones:
    return RedisMilestones(cluster_client, prefix=redis_cluster_space[1])


@pytest.fixture(params=["memory", "sqlite", "redis", "redis_cluster"])
def milestones(request: pytest.FixtureRequest) -> object:
    return request.getfixturevalue(f"{request.param}_milestones")
