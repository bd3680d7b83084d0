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

A renewal writes a compact record only if it still ends as it did when read (its user card
included; one script), so that it never writes back a card that update_user rewrote
meanwhile: that renewal is skipped, and the next request renews the session. (A JSON record,
written only during a rolling upgrade from 0.1, is renewed by SET XX, as 0.1 renews it.)
Its index entry is moved first, whatever the script then finds (a step of the same script on
the index: an entry still there is scored later, never earlier, and the index made to outlive
it; an entry removed is left out, and nothing is written): an entry scored past its
record's end only outlives it, and is pruned as any entry without a record. On one server,
the renewals of an event-loop tick share one round trip, one pipeline of each renewal's
index step and then its record step (one connection runs them in order, and the server
knows the script of both or of neither, so a renewed record is never indexed for less than
its life); on a cluster, where the two are on different nodes, the record's step goes once
the index's answered.

A session's record and its user's index live in different slots, so no command or script
touches both; instead the steps run in an order that keeps one invariant, on one node or
many: every live record has an index entry (the index is written first and cleaned last),
so revoking a user's sessions never misses one. An index entry without a record is pruned.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Literal, cast

from attrs import evolve, frozen
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import NoScriptError

from coatcheck.adapters.redis.batch import TickBatcher
from coatcheck.adapters.redis.client import Client, guarded, mget, ms_up
from coatcheck.adapters.session_records import (
    can_be_compact,
    decode,
    encode_compact,
    encode_json,
    renewal_tails,
)
from coatcheck.adapters.store_watch import StoreWatch
from coatcheck.domain.model import PublicUser, Session
from coatcheck.domain.ports import StoredSession

Encoding = Literal["compact", "json"]
_SHORT_HEX = 32  # the compact key keeps 128 of the digest's 256 bits

# The two steps of a renewal are one script, so that a server knows both or neither. (As two,
# a server that knew the record's alone, loaded by the release before this one, which has the
# same, renewed the records of a tick whose index scripts answered NOSCRIPT, and only the
# replay moved their entries: a record outlived its index if that failed.)
# The index: KEYS[1] a user's index; ARGV 'index', a session's new expiry (ms), its member.
# An entry removed stays removed, and then nothing is written.
# The record: KEYS[1] the record; ARGV 'record', the renewed record, its expiry (ms), then the
# endings the record had when read (renewal_tails). 0: gone; 1: renewed; 2: its card
# changed, kept.
_RENEWAL_STEP = """
if ARGV[1] == 'index' then
  if not redis.call('ZSCORE', KEYS[1], ARGV[3]) then return 0 end
  redis.call('ZADD', KEYS[1], 'XX', 'GT', ARGV[2], ARGV[3])
  redis.call('PEXPIREAT', KEYS[1], ARGV[2], 'NX')
  redis.call('PEXPIREAT', KEYS[1], ARGV[2], 'GT')
  return 1
end
local stored = redis.call('GET', KEYS[1])
if not stored then return 0 end
local function ends(tail) return string.sub(stored, -#tail) == tail end
if not (ends(ARGV[4]) or ends(ARGV[5])) then
  return 2
end
redis.call('SET', KEYS[1], ARGV[2], 'PXAT', ARGV[3])
return 1
"""
_GONE = 0


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
        self._step = client.register_script(_RENEWAL_STEP)
        self._renewals = TickBatcher(self._renew_all)

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
        if can_be_compact(session):
            args: list[bytes | int] = [encode_compact(session), expires, *renewal_tails(session)]
            member = bytes.fromhex(digest[:_SHORT_HEX])
            index = self._index(session.user_id)
            renewal = _Renewal(self._key(digest), args, index, member, expires)
            if await self._renewals.get(renewal) != _GONE:
                return True  # renewed, or its user card changed since it was read: left as is
        if len(digest) <= _SHORT_HEX:
            return False  # removed meanwhile: never resurrected
        # A 0.1 record stays where 0.1 instances look for it, in their format.
        json_record = encode_json(session)
        if not await self._redis.set(self._legacy_key(digest), json_record, xx=True, pxat=expires):
            return False  # removed meanwhile: never resurrected
        # Moved as a compact record's renewal moves it (never added back, never earlier).
        await self._step(keys=[self._index(session.user_id)], args=_index_step(expires, digest))
        return True

    async def _renew_all(self, renewals: list[_Renewal]) -> list[object]:
        """The renewals of a tick: on one server, one pipeline (each one's index entry, then
        its record); on a cluster, or where a script is not loaded yet, one by one."""
        if isinstance(self._redis, RedisCluster):
            return list(await asyncio.gather(*map(self._renew_one, renewals)))
        async with self._redis.pipeline(transaction=False) as pipe:
            for renewal in renewals:
                pipe.evalsha(self._step.sha, 1, renewal.index, *renewal.index_args)
                pipe.evalsha(self._step.sha, 1, renewal.key, *renewal.record_args)
            answers = await pipe.execute(raise_on_error=False)
        if any(isinstance(answer, NoScriptError) for answer in answers):  # a restarted server
            return list(await asyncio.gather(*map(self._renew_one, renewals)))
        for answer in answers:
            if isinstance(answer, Exception):
                raise answer
        return answers[1::2]

    async def _renew_one(self, renewal: _Renewal) -> object:
        """Index entry, then record: the script loaded if the server does not know it."""
        await self._step(keys=[renewal.index], args=renewal.index_args)
        return await self._step(keys=[renewal.key], args=renewal.record_args)

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

    @guarded
    async def update_user(self, user: PublicUser) -> int:
        members = await self._members(self._index(user.id))
        if not members:
            return 0
        keys = [self._record_key(member) for member in members]
        rewrites = []
        for key, raw in zip(keys, await mget(self._redis, keys), strict=True):
            session = None if raw is None else decode(cast(bytes, raw))
            if session is None or session.user is None:
                continue  # gone, or a 0.1 record: answered from the user store
            fresh = evolve(session, user=user)
            json_record = cast(bytes, raw)[:1] == b"{"
            rewrites.append((key, encode_json(fresh) if json_record else encode_compact(fresh)))
        if not rewrites:
            return 0
        # XX: a session removed since the read stays removed; KEEPTTL: and ends as it would.
        async with self._redis.pipeline(transaction=False) as pipe:
            for key, record in rewrites:
                pipe.set(key, record, xx=True, keepttl=True)
            written = await pipe.execute()
        return sum(1 for ok in written if ok)

    def _record_key(self, member: bytes) -> bytes | str:
        if len(member) == _SHORT_HEX // 2:
            return self._compact_prefix + member
        return self._legacy_key(member.decode())

    async def _index_entry(self, user_id: uuid.UUID, member: bytes | str, expires: int) -> None:
        """Index a new session, scored by its expiry; the index outlives its latest session."""
        index = self._index(user_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zadd(index, {cast(str, member): expires})
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


def _index_step(expires: int, member: bytes | str) -> list[bytes | str | int]:
    """The arguments of a renewal's index step (_RENEWAL_STEP)."""
    return [b"index", expires, member]


@frozen
class _Renewal:
    """One renewal of a compact record: its key, the script's arguments (record, expiry in
    ms, the endings it had when read), its index entry, and its expiry (ms)."""

    key: bytes
    args: list[bytes | int]
    index: str
    member: bytes
    expires: int

    @property
    def index_args(self) -> list[bytes | str | int]:
        return _index_step(self.expires, self.member)

    @property
    def record_args(self) -> list[bytes | int]:
        return [b"record", *self.args]


def _digest(member: bytes) -> str:
    """The handle of_user reports: the hex of a compact member, or a 0.1 member as it is."""
    return member.hex() if len(member) == _SHORT_HEX // 2 else member.decode()
