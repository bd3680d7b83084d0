"""Pending steps in Redis or Redis Cluster, one key each, expiring on its own:

{prefix}pending:<key>   the step (adapters/pending_records), PXAT its expiry
"""

from __future__ import annotations

from datetime import datetime

from coatcheck.adapters.pending_records import decode_step, encode_step
from coatcheck.adapters.redis.client import RedisStore, guarded, ms_up
from coatcheck.domain.factors import PendingStep


class RedisPendingSteps(RedisStore):
    def _key(self, key: str) -> str:
        return f"{self._prefix}pending:{key}"

    @guarded
    async def put(self, key: str, step: PendingStep, now: datetime) -> None:
        await self._redis.set(self._key(key), encode_step(step), pxat=ms_up(step.expires_at))

    @guarded
    async def get(self, key: str) -> PendingStep | None:
        raw = await self._redis.get(self._key(key))
        return None if raw is None else decode_step(raw)

    @guarded
    async def take(self, key: str) -> PendingStep | None:
        raw = await self._redis.getdel(self._key(key))
        return None if raw is None else decode_step(raw)
