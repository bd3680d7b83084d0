"""Log-in attempt counts and lock-outs in Redis or Redis Cluster. Every key expires:

    {prefix}throttle:{<key>}:failures   hash {count, ends}, PXAT the window end (ms)
    {prefix}throttle:{<key>}:lock       the lock deadline (ms), PXAT that deadline
    {prefix}throttle:{<owner>}:devices  hash {device: trust deadline (ms)}, PXAT the latest

The braces are a Redis Cluster hash tag: a key's entries share a slot.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from coatcheck.adapters.redis.client import (
    EPOCH,
    MS,
    Client,
    RedisStore,
    guarded,
    mget,
    ms_down,
    ms_up,
)
from coatcheck.adapters.store_watch import StoreWatch

# KEYS: failures. ARGV: now (ms), the end of a window starting now (ms), 1 if sliding.
_RECORD_FAILURE = """
local ends = tonumber(redis.call('HGET', KEYS[1], 'ends'))
local count = 1
if ends and ends > tonumber(ARGV[1]) then
  count = redis.call('HINCRBY', KEYS[1], 'count', 1)
  if ARGV[3] ~= '1' then return count end
end
redis.call('HSET', KEYS[1], 'count', count, 'ends', ARGV[2])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return count
"""


# KEYS: lock. ARGV: now (ms), until (ms).
_CLAIM_LOCK = """
local held = tonumber(redis.call('GET', KEYS[1]))
if held and held > tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PXAT', ARGV[2])
return 1
"""


# KEYS: devices. ARGV: device, until (ms), now (ms). Drops the devices whose trust ended.
_TRUST = """
local latest = tonumber(ARGV[2])
local known = redis.call('HGETALL', KEYS[1])
for i = 1, #known, 2 do
  local deadline = tonumber(known[i + 1])
  if deadline <= tonumber(ARGV[3]) then
    redis.call('HDEL', KEYS[1], known[i])
  elseif known[i] ~= ARGV[1] and deadline > latest then
    latest = deadline
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIREAT', KEYS[1], latest)
"""


# KEYS: devices. ARGV: the device to keep.
_FORGET_BUT = """
local kept = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[1])
if kept then
  redis.call('HSET', KEYS[1], ARGV[1], kept)
  redis.call('PEXPIREAT', KEYS[1], kept)
end
"""


class RedisLoginAttempts(RedisStore):
    def __init__(
        self, client: Client, prefix: str = "coatcheck:", watch: StoreWatch | None = None
    ) -> None:
        super().__init__(client, prefix, watch)
        self._record_failure = client.register_script(_RECORD_FAILURE)
        self._claim_lock = client.register_script(_CLAIM_LOCK)
        self._trust = client.register_script(_TRUST)
        self._forget_but = client.register_script(_FORGET_BUT)

    def _key(self, key: str, part: str) -> str:
        return f"{self._prefix}throttle:{{{key}}}:{part}"

    @guarded
    async def locked_until(self, keys: Sequence[str]) -> datetime | None:
        if not keys:
            return None
        values = await mget(self._redis, [self._key(key, "lock") for key in keys])
        deadlines = [int(value) for value in values if value is not None]
        return EPOCH + max(deadlines) * MS if deadlines else None

    @guarded
    async def record_failure(
        self, key: str, window: timedelta, now: datetime, sliding: bool = False
    ) -> int:
        args = [ms_up(now), ms_up(now + window), int(sliding)]
        return int(await self._record_failure(keys=[self._key(key, "failures")], args=args))

    @guarded
    async def claim_lock(self, key: str, until: datetime, now: datetime) -> bool:
        # Rounded down: a lock never outlasts its deadline, nor Retry-After the max delay.
        args = [ms_up(now), ms_down(until)]
        return bool(await self._claim_lock(keys=[self._key(key, "lock")], args=args))

    @guarded
    async def clear(self, key: str) -> None:
        await self._redis.delete(self._key(key, "failures"), self._key(key, "lock"))

    @guarded
    async def trust(self, owner: str, device: str, until: datetime, now: datetime) -> None:
        args: list[str | int] = [device, ms_down(until), ms_up(now)]
        await self._trust(keys=[self._key(owner, "devices")], args=args)

    @guarded
    async def trusted(self, owner: str, device: str, now: datetime) -> bool:
        deadline = await self._redis.hget(self._key(owner, "devices"), device)
        return deadline is not None and int(deadline) > ms_down(now)

    @guarded
    async def forget_devices(self, owner: str, keep: str | None = None) -> None:
        if keep is None:
            await self._redis.delete(self._key(owner, "devices"))
        else:
            await self._forget_but(keys=[self._key(owner, "devices")], args=[keep])
