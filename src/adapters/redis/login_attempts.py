"""Log-in attempt counts and lock-outs in Redis or Redis Cluster. Every key expires:

    {prefix}throttle:{<key>}:failures   hash {count, ends}, PXAT the window end (ms)
    {prefix}throttle:{<key>}:lock       the lock deadline (ms), PXAT that deadline
    {prefix}throttle:{<key>}:trusted    the trust deadline (ms), PXAT that deadline

The braces are a Redis Cluster hash tag: a key's two entries share a slot.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from coatcheck.adapters.redis.client import EPOCH, MS, Client, guarded, mget, ms_down, ms_up
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


class RedisLoginAttempts:
    def __init__(
        self, client: Client, prefix: str = "coatcheck:", watch: StoreWatch | None = None
    ) -> None:
        self._redis = client
        self._watch = watch or StoreWatch("sessions", "-")
        self._prefix = prefix
        self._record_failure = client.register_script(_RECORD_FAILURE)
        self._claim_lock = client.register_script(_CLAIM_LOCK)

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
    async def trust(self, key: str, until: datetime) -> None:
        deadline = ms_down(until)
        await self._redis.set(self._key(key, "trusted"), deadline, pxat=deadline)

    @guarded
    async def trusted(self, key: str, now: datetime) -> bool:
        deadline = await self._redis.get(self._key(key, "trusted"))
        return deadline is not None and int(deadline) > ms_down(now)
