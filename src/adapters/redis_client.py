"""The Redis client, for a server or a Redis Cluster, and what its adapters share: outages
as StoreUnavailable, slot-aware MGET, and times as epoch milliseconds."""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ParamSpec, TypeVar, cast

import redis.asyncio as redis
from redis import exceptions as redis_errors
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff

from domain.errors import StoreUnavailable

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MS = timedelta(milliseconds=1)
_TIMEOUT_SECONDS = 2.0
MAX_CONNECTIONS = 64
POOL_WAIT_SECONDS = 2.0
_UNAVAILABLE = (  # ReadOnlyError: the primary was demoted by a failover
    *(redis_errors.ConnectionError, redis_errors.TimeoutError, redis_errors.ClusterError),
    *(redis_errors.TryAgainError, redis_errors.ReadOnlyError, redis_errors.OutOfMemoryError),
)

P = ParamSpec("P")
T = TypeVar("T")
Client = redis.Redis | RedisCluster


def guarded(method: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, Coroutine[Any, Any, T]]:
    """Redis outages surface as StoreUnavailable, whose message names no address or value."""

    @functools.wraps(method)
    async def guarded_method(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await method(*args, **kwargs)
        except _UNAVAILABLE as error:
            raise StoreUnavailable("session store unavailable") from error

    return guarded_method


async def open_redis(url: str, cluster: bool = False) -> Client:
    """A client of one Redis server, or of a Redis Cluster that `url` names one node of.

    A cluster client learns the cluster's layout here, once: left to the first commands,
    concurrent ones race to learn it and some fail.
    """
    client = create_redis(url, cluster)
    if isinstance(client, RedisCluster):
        try:
            await client.initialize()
        except (*_UNAVAILABLE, redis_errors.RedisClusterException) as error:
            await client.aclose()
            raise StoreUnavailable("session store unavailable") from error
    return client


def create_redis(url: str, cluster: bool = False) -> Client:
    """The client, not yet connected (see open_redis)."""
    options: dict[str, Any] = {
        "socket_connect_timeout": _TIMEOUT_SECONDS,
        "socket_timeout": _TIMEOUT_SECONDS,
        "retry": Retry(ExponentialWithJitterBackoff(base=0.01, cap=0.1), retries=1),
    }
    if cluster:
        return RedisCluster.from_url(url, **options)
    # A burst waits (bounded) for a free connection instead of failing as an outage.
    pool = redis.BlockingConnectionPool.from_url(
        url,
        max_connections=MAX_CONNECTIONS,
        timeout=POOL_WAIT_SECONDS,
        health_check_interval=30,
        **options,
    )
    return redis.Redis.from_pool(pool)  # the client owns the pool: aclose() closes it


async def mget(client: Client, keys: Sequence[bytes | str]) -> list[Any]:
    """MGET, split by slot on a cluster (each slot's part is still one command)."""
    if isinstance(client, RedisCluster):
        return await client.mget_nonatomic(keys)
    return cast(list[Any], await client.mget(keys))


def ms_up(moment: datetime) -> int:
    """Milliseconds since the epoch, rounded up: Redis never drops a key before its deadline."""
    return -((EPOCH - moment) // MS)


def text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def ms_down(moment: datetime) -> int:
    """Milliseconds since the epoch, rounded down: a deadline never outlasts its moment."""
    return (moment - EPOCH) // MS
