"""Sessions in Redis or Redis Cluster. Every key expires on its own:

    {prefix}session:<digest>            the session as JSON, PXAT its expiry
    {prefix}user:<user id>:sessions     sorted set of digests scored by expiry (ms),
                                        PXAT the latest expiry among them

A session's record and its user's index live in different slots, so no command or script
touches both; instead the steps run in an order that keeps one invariant, on one node or
many: every live record has an index entry (the index is written first and cleaned last),
so revoking a user's sessions never misses one. An index entry without a record is pruned.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import cast

from adapters.redis_client import Client, guarded, mget, ms_up, text
from adapters.timestamps import iso_utc
from domain.model import ClientInfo, Session, SessionKind
from domain.ports import StoredSession

_MOMENTS = ("created_at", "last_seen_at", "expires_at", "absolute_expires_at")


def _dump(session: Session) -> str:
    record = {
        "id": session.id,
        "user_id": str(session.user_id),
        "kind": session.kind.value,
        **{name: iso_utc(getattr(session, name)) for name in _MOMENTS},
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

    @guarded
    async def ping(self) -> None:
        await self._redis.ping()

    @guarded
    async def add(self, digest: str, session: Session) -> None:
        expires = ms_up(session.expires_at)
        await self._index_entry(session.user_id, digest, expires)
        await self._redis.set(self._record(digest), _dump(session), pxat=expires)

    @guarded
    async def get(self, digest: str) -> Session | None:
        raw = await self._redis.get(self._record(digest))
        return None if raw is None else _load(raw)

    @guarded
    async def replace(self, digest: str, session: Session) -> bool:
        expires = ms_up(session.expires_at)
        if not await self._redis.set(self._record(digest), _dump(session), xx=True, pxat=expires):
            return False  # removed meanwhile: never resurrected
        await self._index_entry(session.user_id, digest, expires, only_existing=True)
        return True

    @guarded
    async def remove(self, digest: str) -> None:
        # GETDEL ends the session at once; the index entry goes next, and one left behind
        # by a failure is pruned later because its record is missing.
        raw = await self._redis.getdel(self._record(digest))
        if raw is not None:
            await self._redis.zrem(self._index(_load(raw).user_id), digest)

    @guarded
    async def of_user(self, user_id: uuid.UUID, now: datetime) -> Sequence[StoredSession]:
        index = self._index(user_id)
        digests = await self._digests(index)
        if not digests:
            return []
        records = await mget(self._redis, [self._record(digest) for digest in digests])
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

    @guarded
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
        return [text(member) for member in members]

    async def _drop(self, index: str, digests: list[str]) -> int:
        """Delete the records, then (only once they are gone) their index entries; return how
        many records existed. One DEL: a cluster client splits it by slot."""
        deleted = await self._redis.delete(*[self._record(digest) for digest in digests])
        await self._redis.zrem(index, *digests)
        return int(deleted)
