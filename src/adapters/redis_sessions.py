"""Sessions and log-in attempts in Redis or Redis Cluster. Every key expires on its own:

    {prefix}session:<digest>            the session as JSON, PXAT its expiry
    {prefix}user:<user id>:sessions     sorted set of digests scored by expiry (ms),
                                        PXAT the latest expiry among them
    {prefix}throttle:{<key>}:failures   hash {count, ends}, PXAT the window end (ms)
    {prefix}throttle:{<key>}:lock       the lock deadline (ms), PXAT that deadline

The braces around a throttle key are a Redis Cluster hash tag: its two keys share a slot.
A session's record and its user's index live in different slots, so no command or script
touches both; instead the steps run in an order that keeps one invariant, on one node or
many: every live record has an index entry (the index is written first and cleaned last),
so revoking a user's sessions never misses one. An index entry without a record is pruned.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ParamSpec, TypeVar, cast

import redis.asyncio as redis
from redis import exceptions as redis_errors
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff

from domain.errors import StoreUnavailable
from domain.model import ClientInfo, Session, SessionKind
from domain.ports import StoredSession

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_MOMENTS = ("created_at", "last_seen_at", "expires_at", "absolute_expires_at")
_TIMEOUT_SECONDS = 2.0
_UNAVAILABLE = (  # ReadOnlyError: the primary was demoted by a failover
    *(redis_errors.ConnectionError, redis_errors.TimeoutError, redis_errors.ClusterError),
    *(redis_errors.TryAgainError, redis_errors.ReadOnlyError, redis_errors.OutOfMemoryError),
)

P = ParamSpec("P")
T = TypeVar("T")
Client = redis.Redis | RedisCluster


def _guarded(method: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, Coroutine[Any, Any, T]]:
    """Redis outages surface as StoreUnavailable, whose message names no address or value."""

    @functools.wraps(method)
    async def guarded(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await method(*args, **kwargs)
        except _UNAVAILABLE as error:
            raise StoreUnavailable("session store unavailable") from error

    return guarded


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
    return redis.Redis.from_url(url, health_check_interval=30, **options)


async def _mget(client: Client, keys: list[str]) -> list[Any]:
    """MGET, split by slot on a cluster (each slot's part is still one command)."""
    if isinstance(client, RedisCluster):
        return await client.mget_nonatomic(keys)
    return cast(list[Any], await client.mget(keys))


def _ms(moment: datetime) -> int:
    """Milliseconds since the epoch, rounded up: Redis never drops a key before its deadline."""
    return -((_EPOCH - moment) // _MS)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _dump(session: Session) -> str:
    record = {
        "id": session.id,
        "user_id": str(session.user_id),
        "kind": session.kind.value,
        **{name: _iso(getattr(session, name)) for name in _MOMENTS},
        "client": {"user_agent": session.client.user_agent, "address": session.client.address},
    }
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False)


def _load(raw: bytes | str) -> Session:
    record = json.loads(raw)
    return Session(
        id=record["id"],
        user_id=uuid.UUID(record["user_id"]),
        kind=SessionKind(record["kind"]),
        client=ClientInfo(**record["client"]),
        **{name: datetime.fromisoformat(record[name]) for name in _MOMENTS},
    )


class RedisSessions:
    def __init__(self, client: Client, prefix: str = "coatcheck:") -> None:
        self._redis = client
        self._prefix = prefix

    def _record(self, digest: str) -> str:
        return f"{self._prefix}session:{digest}"

    def _index(self, user_id: uuid.UUID) -> str:
        return f"{self._prefix}user:{user_id}:sessions"

    @_guarded
    async def ping(self) -> None:
        await self._redis.ping()

    @_guarded
    async def add(self, digest: str, session: Session) -> None:
        expires = _ms(session.expires_at)
        await self._index_entry(session.user_id, digest, expires)
        await self._redis.set(self._record(digest), _dump(session), pxat=expires)

    @_guarded
    async def get(self, digest: str) -> Session | None:
        raw = await self._redis.get(self._record(digest))
        return None if raw is None else _load(raw)

    @_guarded
    async def replace(self, digest: str, session: Session) -> bool:
        expires = _ms(session.expires_at)
        if not await self._redis.set(self._record(digest), _dump(session), xx=True, pxat=expires):
            return False  # removed meanwhile: never resurrected
        await self._index_entry(session.user_id, digest, expires, only_existing=True)
        return True

    @_guarded
    async def remove(self, digest: str) -> None:
        # GETDEL ends the session at once; the index entry goes next, and one left behind
        # by a failure is pruned later because its record is missing.
        raw = await self._redis.getdel(self._record(digest))
        if raw is not None:
            await self._redis.zrem(self._index(_load(raw).user_id), digest)

    @_guarded
    async def of_user(self, user_id: uuid.UUID, now: datetime) -> Sequence[StoredSession]:
        index = self._index(user_id)
        digests = await self._digests(index)
        if not digests:
            return []
        records = await _mget(self._redis, [self._record(digest) for digest in digests])
        live, stale = [], []
        for digest, raw in zip(digests, records, strict=True):
            session = None if raw is None else _load(raw)
            if session is None or not session.is_live(now):
                stale.append(digest)
            else:
                live.append(StoredSession(digest, session))
        if stale:
            await self._drop(index, stale)
        return live

    @_guarded
    async def remove_of_user(self, user_id: uuid.UUID, keep: str | None = None) -> int:
        index = self._index(user_id)
        doomed = [digest for digest in await self._digests(index) if digest != keep]
        return await self._drop(index, doomed) if doomed else 0

    async def _index_entry(
        self, user_id: uuid.UUID, digest: str, expires: int, only_existing: bool = False
    ) -> None:
        """Index the digest, scored by its expiry; the index outlives its latest session."""
        index = self._index(user_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zadd(index, {digest: expires}, xx=only_existing)
            # GT leaves a key without expiry alone (Redis 7.0): NX gives the first one.
            pipe.pexpireat(index, expires, nx=True)
            pipe.pexpireat(index, expires, gt=True)
            await pipe.execute()

    async def _digests(self, index: str) -> list[str]:
        members = cast(list[bytes | str], await self._redis.zrange(index, 0, -1))
        return [_text(member) for member in members]

    async def _drop(self, index: str, digests: list[str]) -> int:
        """Delete the records, then (only once they are gone) their index entries; return how
        many records existed. One DEL: a cluster client splits it by slot."""
        deleted = await self._redis.delete(*[self._record(digest) for digest in digests])
        await self._redis.zrem(index, *digests)
        return int(deleted)


# KEYS: failures. ARGV: now (ms), the end of a window starting now (ms).
_RECORD_FAILURE = """
local ends = tonumber(redis.call('HGET', KEYS[1], 'ends'))
if ends and ends > tonumber(ARGV[1]) then
  return redis.call('HINCRBY', KEYS[1], 'count', 1)
end
redis.call('HSET', KEYS[1], 'count', 1, 'ends', ARGV[2])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return 1
"""


# KEYS: lock. ARGV: now (ms), until (ms).
_CLAIM_LOCK = """
local held = tonumber(redis.call('GET', KEYS[1]))
if held and held > tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PXAT', ARGV[2])
return 1
"""


class RedisLoginAttempts:
    def __init__(self, client: Client, prefix: str = "coatcheck:") -> None:
        self._redis = client
        self._prefix = prefix
        self._record_failure = client.register_script(_RECORD_FAILURE)
        self._claim_lock = client.register_script(_CLAIM_LOCK)

    def _key(self, key: str, part: str) -> str:
        return f"{self._prefix}throttle:{{{key}}}:{part}"

    @_guarded
    async def locked_until(self, keys: Sequence[str]) -> datetime | None:
        if not keys:
            return None
        values = await _mget(self._redis, [self._key(key, "lock") for key in keys])
        deadlines = [int(value) for value in values if value is not None]
        return _EPOCH + max(deadlines) * _MS if deadlines else None

    @_guarded
    async def record_failure(self, key: str, window: timedelta, now: datetime) -> int:
        args = [_ms(now), _ms(now + window)]
        return int(await self._record_failure(keys=[self._key(key, "failures")], args=args))

    @_guarded
    async def claim_lock(self, key: str, until: datetime, now: datetime) -> bool:
        # Rounded down: a lock never outlasts its deadline, nor Retry-After the max delay.
        args = [_ms(now), (until - _EPOCH) // _MS]
        return bool(await self._claim_lock(keys=[self._key(key, "lock")], args=args))

    @_guarded
    async def clear(self, key: str) -> None:
        await self._redis.delete(self._key(key, "failures"), self._key(key, "lock"))
