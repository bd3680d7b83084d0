"""The throttles' store seen through the service's secret."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from coatcheck.domain.ports import LoginAttempts
from coatcheck.domain.tickets import TicketKey


class KeyedAttempts:
    """A LoginAttempts whose every key reaches the store only as its HMAC-SHA256 under the
    service's secret (its scope, such as `account` or `mail-address`, kept in front for
    operators): a dump of the store cannot be matched against a list of email addresses,
    as a plain digest of each could. The log-in and the mail throttles both count through
    it. Keys written before it are never read again, and expire."""

    def __init__(self, attempts: LoginAttempts, key: TicketKey) -> None:
        self._attempts = attempts
        self._key = key

    def stored(self, key: str) -> str:
        """The name the store knows `key` by."""
        scope, _, _ = key.partition(":")
        return scope + ":" + self._key.mac("throttle\x00" + key)[:32]

    async def locked_until(self, keys: Sequence[str]) -> datetime | None:
        return await self._attempts.locked_until([self.stored(key) for key in keys])

    async def record_failure(
        self, key: str, window: timedelta, now: datetime, sliding: bool = False
    ) -> int:
        return await self._attempts.record_failure(self.stored(key), window, now, sliding)

    async def claim_lock(self, key: str, until: datetime, now: datetime) -> bool:
        return await self._attempts.claim_lock(self.stored(key), until, now)

    async def clear(self, key: str) -> None:
        await self._attempts.clear(self.stored(key))

    async def trust(self, owner: str, device: str, until: datetime, now: datetime) -> None:
        await self._attempts.trust(self.stored(owner), device, until, now)

    async def trusted(self, owner: str, device: str, now: datetime) -> bool:
        return await self._attempts.trusted(self.stored(owner), device, now)

    async def forget_devices(self, owner: str, keep: str | None = None) -> None:
        await self._attempts.forget_devices(self.stored(owner), keep)
