"""Log-in throttling: failures per account and per client address buy growing delays."""

from __future__ import annotations

import hashlib
import math
from datetime import timedelta

from attrs import frozen

from domain.errors import TooManyAttempts
from domain.model import Email
from domain.ports import Clock, LoginAttempts


@frozen
class ThrottlePolicy:
    """After `limit` failures in `window`, each further failure locks the key for a delay
    that doubles from `base_delay` up to `max_delay`: the longest an attacker can keep the
    real owner out at a time."""

    enabled: bool = True
    account_limit: int = 5
    address_limit: int = 20
    window: timedelta = timedelta(minutes=15)
    base_delay: timedelta = timedelta(seconds=1)
    max_delay: timedelta = timedelta(minutes=1)

    def delay(self, failures: int, limit: int) -> timedelta | None:
        if failures < limit:
            return None
        return min(self.base_delay * (1 << min(failures - limit, 32)), self.max_delay)


def account_key(email: Email) -> str:
    # Hashed so that store keys carry no email address.
    return "account:" + hashlib.sha256(email.value.encode()).hexdigest()[:32]


def address_key(address: str) -> str:
    return "address:" + address


class LoginThrottle:
    """Checks and counts log-in failures; a domain service shared by the use-cases."""

    def __init__(self, attempts: LoginAttempts, policy: ThrottlePolicy, clock: Clock) -> None:
        self._attempts = attempts
        self._policy = policy
        self._clock = clock

    def _keys(self, email: Email, address: str) -> list[tuple[str, int]]:
        keys = [(account_key(email), self._policy.account_limit)]
        if address:
            keys.append((address_key(address), self._policy.address_limit))
        return keys

    async def check(self, email: Email, address: str) -> None:
        """Raise TooManyAttempts while the account or the address is locked."""
        if not self._policy.enabled:
            return
        keys = [key for key, _ in self._keys(email, address)]
        until = await self._attempts.locked_until(keys)
        now = self._clock.now()
        if until is not None and until > now:
            raise TooManyAttempts(math.ceil((until - now).total_seconds()))

    async def failed(self, email: Email, address: str) -> None:
        if not self._policy.enabled:
            return
        now = self._clock.now()
        for key, limit in self._keys(email, address):
            failures = await self._attempts.record_failure(key, self._policy.window, now)
            delay = self._policy.delay(failures, limit)
            if delay is not None:
                await self._attempts.lock(key, now + delay)

    async def succeeded(self, email: Email) -> None:
        if self._policy.enabled:
            await self._attempts.clear(account_key(email))
