"""The Redis client, for a server or a Redis Cluster, and what its adapters share: failures
as StoreUnavailable (and a wait for a free connection that runs out as Overloaded), each
watched; slot-aware MGET; times as epoch milliseconds."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar, cast

import redis.asyncio as redis
from redis import exceptions as redis_errors
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff

from coatcheck.adapters.deadline import StoreTimeouts
from coatcheck.adapters.store_watch import EVENT_LOOP, StoreWatch
from coatcheck.domain.errors import CoatcheckError, Overloaded, StoreUnavailable

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MS = timedelta(milliseconds=1)
DEFAULT_TIMEOUTS = StoreTimeouts.within(1.0)
MAX_CONNECTIONS = 64
_UNAVAILABLE = (  # ReadOnlyError: the primary was demoted by a failover
    *(redis_errors.ConnectionError, redis_errors.TimeoutError, redis_errors.ClusterError),
    *(redis_errors.TryAgainError, redis_errors.ReadOnlyError, redis_errors.OutOfMemoryError),
)

P = ParamSpec("P")
T = TypeVar("T")
Client = redis.Redis | RedisCluster


class Watched(Protocol):
    _redis: Client
    _watch: StoreWatch


W = TypeVar("W", bound=Watched)


def guarded(
    method: Callable[Concatenate[W, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[W, P], Coroutine[Any, Any, T]]:
    """Every failure of the Redis client surfaces as StoreUnavailable (whose message names no
    address or value), watched: an outage, or the client's own fault (redis-py lets some
    transport errors escape as AttributeError or TypeError), after which its idle
    connections are dropped. A client error is never a 500."""

    @functools.wraps(method)
    async def guarded_method(self: W, /, *args: P.args, **kwargs: P.kwargs) -> T:
        started = time.perf_counter()
        try:
            result = await method(self, *args, **kwargs)
        except CoatcheckError:
            raise
        except _UNAVAILABLE as error:
            if self._watch.overloaded(error):
                raise Overloaded(EVENT_LOOP) from error
            self._watch.failed(error)
            raise StoreUnavailable("session store unavailable") from error
        except Exception as error:
            self._watch.failed(error)
            await drop_idle_connections(self._redis)
            raise StoreUnavailable("session store unavailable") from error
        self._watch.answered(time.perf_counter() - started)
        return result

    return cast(Callable[Concatenate[W, P], Coroutine[Any, Any, T]], guarded_method)


class RedisStore:
    """An adapter on the client: its keys under `prefix`, its methods `guarded` (watched)."""

    def __init__(
        self, client: Client, prefix: str = "coatcheck:", watch: StoreWatch | None = None
    ) -> None:
        self._redis = client
        self._watch = watch or StoreWatch("sessions", "-")
        self._prefix = prefix


async def drop_idle_connections(client: Client) -> None:
    """After a client's own fault: the connection it happened on was handed back; drop it and
    every idle one, so that none in an unknown state is used again."""
    try:
        if isinstance(client, RedisCluster):
            for node in client.get_nodes():
                await node.disconnect_free_connections()
        else:
            await client.connection_pool.disconnect(inuse_connections=False)
    except Exception:  # noqa: S110 -- best effort: the request already fails with a 503
        pass


class _WaitingPool(redis.BlockingConnectionPool):
    """A burst waits (bounded) for a free connection; a wait that runs out while the store
    answers is Overloaded, not an outage."""

    watch: StoreWatch | None = None

    async def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().get_connection(*args, **kwargs)  # type: ignore[no-untyped-call]
        except redis_errors.ConnectionError as error:
            waited = isinstance(error.__cause__, asyncio.TimeoutError)
            watch = self.watch
            if waited and (watch is None or not watch.down):
                raise Overloaded("session store connections") from error
            if waited and watch is not None and watch.overloaded(error):
                raise Overloaded(EVENT_LOOP) from error
            raise


async def open_redis(
    url: str,
    cluster: bool = False,
    timeouts: StoreTimeouts = DEFAULT_TIMEOUTS,
    watch: StoreWatch | None = None,
) -> Client:
    """A client of one Redis server, or of a Redis Cluster that `url` names one node of.

    A cluster client learns the cluster's layout here when it can; if the cluster does not
    answer, the client is returned all the same (the failure watched) and learns it at its
    first command, so that the service starts and recovers by itself.
    """
    client = create_redis(url, cluster, timeouts)
    if isinstance(client, redis.Redis) and isinstance(client.connection_pool, _WaitingPool):
        client.connection_pool.watch = watch
    if isinstance(client, RedisCluster):
        try:
            await client.initialize()
        except (*_UNAVAILABLE, redis_errors.RedisClusterException, OSError) as error:
            if watch is not None:
                watch.failed(error)
    return client


def create_redis(
    url: str, cluster: bool = False, timeouts: StoreTimeouts = DEFAULT_TIMEOUTS
) -> Client:
    """The client, not yet connected (see open_redis). A command is tried at most twice."""
    options: dict[str, Any] = {
        "socket_connect_timeout": timeouts.connect,
        "socket_timeout": timeouts.command,
        "retry": Retry(
            ExponentialWithJitterBackoff(base=0.01, cap=timeouts.command / 5), retries=1
        ),
    }
    if cluster:
        return RedisCluster.from_url(url, **options)
    pool = _WaitingPool.from_url(
        url,
        max_connections=MAX_CONNECTIONS,
        timeout=timeouts.pool_wait,
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
