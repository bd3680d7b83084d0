"""Sessions in Redis or Redis Cluster. Every key expires on its own:

    {prefix}s:<first 16 bytes of the digest>   the compact record (adapters/session_records),
                                               PXAT its expiry
    {prefix}session:<digest as hex>            a record of release 0.1 (JSON), read until it
                                               expires; written only with SESSION_ENCODING=json
    {prefix}user:<user id>:sessions            sorted set of the user's records (16 raw bytes,
                                               or the hex digest for 0.1 records), scored by
                                               expiry (ms), PXAT the latest expiry among them

Reads of one event-loop tick share one MGET; a digest that no compact record answers is
looked up once more under its 0.1 key (the same tick's misses share that MGET too).

A session's record and its user's index live in different slots, so no command or script
touches both; instead the steps run in an order that keeps one invariant, on one node or
many: every live record has an index entry (the index is written first and cleaned last),
so revoking a user's sessions never misses one. An index entry without a record is pruned.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Literal, cast

from adapters.redis_batch import TickBatcher
from adapters.redis_client import Client, guarded, mget, ms_up
from adapters.session_records import can_be_compact, decode, encode_compact, encode_json
from adapters.store_watch import StoreWatch
from domain.model import Session
from domain.ports import StoredSession

Encoding = Literal["compact", "json"]
_SHORT_HEX = 32  # the compact key keeps 128 of the digest's 256 bits


class RedisSessions:
    def __init__(
        self,
        client: Client,
        prefix: str = "coatcheck:",
        encoding: Encoding = "compact",
        watch: StoreWatch | None = None,
    ) -> None:
        self._redis = client
        self._watch = watch or StoreWatch("sessions", "-")
        self._prefix = prefix
        self._compact_prefix = f"{prefix}s:".encode()
        self._encoding = encoding
        self._reads = TickBatcher(self._fetch)
        self._legacy_reads = TickBatcher(self._fetch)

    # Keys and index members of the two record formats.
    def _key(self, digest: str) -> bytes:
        return self._compact_prefix + bytes.fromhex(digest[:_SHORT_HEX])

    def _legacy_key(self, digest: str) -> str:
        return f"{self._prefix}session:{digest}"

    def _index(self, user_id: uuid.UUID) -> str:
        return f"{self._prefix}user:{user_id}:sessions"

    def _writes_compact(self, session: Session) -> bool:
        return self._encoding == "compact" and can_be_compact(session)

    def _where(self, digest: str, session: Session) -> tuple[bytes | str, bytes | str, bytes]:
        """Record key, index member and record of a session written now."""
        if self._writes_compact(session):
            return self._key(digest), bytes.fromhex(digest[:_SHORT_HEX]), encode_compact(session)
        return self._legacy_key(digest), digest, encode_json(session)

    @guarded
    async def _fetch(self, keys: list[bytes | str]) -> list[bytes | None]:
        return await mget(self._redis, keys)

    @guarded
    async def ping(self) -> None:
        """A write with a short expiry: a Redis out of memory, or a replica, refuses it."""
        await self._redis.set(f"{self._prefix}ready", b"1", px=5000)

    @guarded
    async def add(self, digest: str, session: Session) -> None:
        key, member, record = self._where(digest, session)
        expires = ms_up(session.expires_at)
        await self._index_entry(session.user_id, member, expires)
        await self._redis.set(key, record, pxat=expires)

    async def get(self, digest: str) -> Session | None:
        raw = await self._reads.get(self._key(digest))
        if raw is None and len(digest) > _SHORT_HEX:
            raw = await self._legacy_reads.get(self._legacy_key(digest))
        return None if raw is None else decode(raw)

    @guarded
    async def replace(self, digest: str, session: Session) -> bool:
        expires = ms_up(session.expires_at)
        member: bytes | str = bytes.fromhex(digest[:_SHORT_HEX])
        written = can_be_compact(session) and await self._redis.set(
            self._key(digest), encode_compact(session), xx=True, pxat=expires
        )
        if not written and len(digest) > _SHORT_HEX:
            # A 0.1 record stays where 0.1 instances look for it, in their format.
            member = digest
            written = await self._redis.set(
                self._legacy_key(digest), encode_json(session), xx=True, pxat=expires
            )
        if not written:
            return False  # removed meanwhile: never resurrected
        await self._index_entry(session.user_id, member, expires, only_existing=True)
        return True

    @guarded
    async def remove(self, digest: str) -> None:
        # GETDEL ends the session at once (under either key, in one round trip); the index
        # entry goes next, and one left behind by a failure is pruned later.
        short: bytes | str = bytes.fromhex(digest[:_SHORT_HEX])
        if len(digest) > _SHORT_HEX:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.getdel(self._key(digest))
                pipe.getdel(self._legacy_key(digest))
                compact, legacy = await pipe.execute()
        else:  # a handle of_user reported for a compact record
            compact, legacy = await self._redis.getdel(self._key(digest)), None
        raw, member = (compact, short) if compact is not None else (legacy, digest)
        if raw is not None:
            await self._redis.zrem(self._index(decode(cast(bytes, raw)).user_id), member)

    @guarded
    async def of_user(self, user_id: uuid.UUID, now: datetime) -> Sequence[StoredSession]:
        index = self._index(user_id)
        members = await self._members(index)
        if not members:
            return []
        records = await mget(self._redis, [self._record_key(member) for member in members])
        live, stale = [], []
        for member, raw in zip(members, records, strict=True):
            session = None if raw is None else decode(cast(bytes, raw))
            if session is None or not session.is_live(now):
                stale.append(member)
            else:
                live.append(StoredSession(_digest(member), session))
        if stale:
            await self._drop(index, stale)
        return live

    @guarded
    async def remove_of_user(self, user_id: uuid.UUID, keep: str | None = None) -> int:
        index = self._index(user_id)
        kept = set() if keep is None else {keep, keep[:_SHORT_HEX]}
        doomed = [member for member in await self._members(index) if _digest(member) not in kept]
        return await self._drop(index, doomed) if doomed else 0

    def _record_key(self, member: bytes) -> bytes | str:
        if len(member) == _SHORT_HEX // 2:
            return self._compact_prefix + member
        return self._legacy_key(member.decode())

    async def _index_entry(
        self, user_id: uuid.UUID, member: bytes | str, expires: int, only_existing: bool = False
    ) -> None:
        """Index the session, scored by its expiry; the index outlives its latest session."""
        index = self._index(user_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zadd(index, {cast(str, member): expires}, xx=only_existing)
            # GT leaves a key without expiry alone (Redis 7.0): NX gives the first one.
            pipe.pexpireat(index, expires, nx=True)
            pipe.pexpireat(index, expires, gt=True)
            await pipe.execute()

    async def _members(self, index: str) -> list[bytes]:
        return cast(list[bytes], await self._redis.zrange(index, 0, -1))

    async def _drop(self, index: str, members: list[bytes]) -> int:
        """Delete the records, then (only once they are gone) their index entries; return how
        many records existed. One DEL: a cluster client splits it by slot."""
        deleted = await self._redis.delete(*[self._record_key(member) for member in members])
        await self._redis.zrem(index, *members)
        return int(deleted)


def _digest(member: bytes) -> str:
    """The handle of_user reports: the hex of a compact member, or a 0.1 member as it is."""
    return member.hex() if len(member) == _SHORT_HEX // 2 else member.decode()
