"""Log-in failures, locks and trusted devices in dicts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta


class InMemoryLoginAttempts:
    def __init__(self) -> None:
        self.failures: dict[str, tuple[int, datetime]] = {}  # key -> (count, window end)
        self.locks: dict[str, datetime] = {}
        self.devices: dict[str, dict[str, datetime]] = {}  # owner -> device -> trusted until

    async def locked_until(self, keys: Sequence[str]) -> datetime | None:
        return max((self.locks[key] for key in keys if key in self.locks), default=None)

    async def record_failure(
        self, key: str, window: timedelta, now: datetime, sliding: bool = False
    ) -> int:
        count, ends = self.failures.get(key, (0, now + window))
        if ends <= now:
            count, ends = 0, now + window
        self.failures[key] = (count + 1, now + window if sliding else ends)
        return count + 1

    async def claim_lock(self, key: str, until: datetime, now: datetime) -> bool:
        if key in self.locks and self.locks[key] > now:
            return False
        self.locks[key] = until
        return True

    async def clear(self, key: str) -> None:
        self.failures.pop(key, None)
        self.locks.pop(key, None)

    async def trust(self, owner: str, device: str, until: datetime, now: datetime) -> None:
        known = self.devices.setdefault(owner, {})
        for ended in [name for name, deadline in known.items() if deadline <= now]:
            del known[ended]
        known[device] = until

    async def trusted(self, owner: str, device: str, now: datetime) -> bool:
        return now < self.devices.get(owner, {}).get(device, now)

    async def forget_devices(self, owner: str, keep: str | None = None) -> None:
        known = self.devices.pop(owner, {})
        if keep in known:
            self.devices[owner] = {keep: known[keep]}
