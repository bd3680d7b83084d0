"""Log-in throttling: attempts per account and per client address buy growing delays."""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta

from attrs import frozen

from domain.errors import TooManyAttempts
from domain.model import Email
from domain.ports import Clock, Events, LoginAttempts


@frozen
class ThrottlePolicy:
    """Within `window`, the attempt that reaches `limit` (and every later one) first takes a
    lock of a delay that doubles from `base_delay` up to `max_delay`: the longest an attacker
    can keep the real owner out at a time. While a key is locked, attempts are refused."""

    enabled: bool = True
    account_limit: int = 5
    address_limit: int = 50
    window: timedelta = timedelta(minutes=15)
    base_delay: timedelta = timedelta(seconds=1)
    max_delay: timedelta = timedelta(minutes=1)

    def delay(self, attempts: int, limit: int) -> timedelta | None:
        if attempts < limit:
            return None
        return min(self.base_delay * (1 << min(attempts - limit, 32)), self.max_delay)


def account_key(email: Email) -> str:
    # Hashed so that store keys carry no email address.
    return "account:" + hashlib.sha256(email.value.encode()).hexdigest()[:32]


def address_key(address: str) -> str:
    return "address:" + address


def _seconds_until(until: datetime, now: datetime) -> int:
    return max(1, math.ceil((until - now).total_seconds()))


class LoginThrottle:
    """Counts an attempt before the password is checked, so parallel guesses are counted too.

    Attempts under the limit go through. The attempt that reaches it must also take the
    key's lock (atomically, so of many parallel ones exactly one does) and is then checked;
    the rest are refused until the lock ends. Success clears the account's count and lock;
    an address counts every attempt, so one valid account cannot reset it.
    """

    def __init__(
        self, attempts: LoginAttempts, policy: ThrottlePolicy, clock: Clock, events: Events
    ) -> None:
        self._attempts = attempts
        self._policy = policy
        self._clock = clock
        self._events = events

    def _keys(self, email: Email, address: str) -> list[tuple[str, int]]:
        keys = [(account_key(email), self._policy.account_limit)]
        if address:
            keys.append((address_key(address), self._policy.address_limit))
        return keys

    async def attempt(self, email: Email, address: str) -> None:
        """Count this attempt; raise TooManyAttempts when it may not be checked."""
        if not self._policy.enabled:
            return
        now = self._clock.now()
        keys = self._keys(email, address)
        until = await self._attempts.locked_until([key for key, _ in keys])
        if until is not None and until > now:
            raise self._refused("locked", _seconds_until(until, now))
        for key, limit in keys:
            attempts = await self._attempts.record_failure(key, self._policy.window, now)
            delay = self._policy.delay(attempts, limit)
            if delay is not None and not await self._attempts.claim_lock(key, now + delay, now):
                raise self._refused(key.partition(":")[0], _seconds_until(now + delay, now))

    def _refused(self, scope: str, retry_after_seconds: int) -> TooManyAttempts:
        self._events.throttled(scope, retry_after_seconds)
        return TooManyAttempts(retry_after_seconds)

    async def succeeded(self, email: Email) -> None:
        if self._policy.enabled:
            await self._attempts.clear(account_key(email))
