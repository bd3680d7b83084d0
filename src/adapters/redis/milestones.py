"""Milestones in Redis or Redis Cluster, a key each, never expiring:

{prefix}milestone:{name}   the moment (ms since the epoch), set once (NX)
"""

from __future__ import annotations

from datetime import datetime

from coatcheck.adapters.redis.client import EPOCH, MS, RedisStore, guarded, ms_down
from coatcheck.domain.errors import StoreUnavailable


class RedisMilestones(RedisStore):
    @guarded
    async def first(self, name: str, moment: datetime) -> datetime:
        key = f"{self._prefix}milestone:{name}"
        await self._redis.set(key, ms_down(moment), nx=True)
        stored = await self._redis.get(key)
        if stored is None:  # deleted between the two: an operator's doing
            raise StoreUnavailable("session store unavailable")
        return EPOCH + int(stored) * MS
