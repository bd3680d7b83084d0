"""Throttling what sends email: so that coatcheck cannot be used to flood an inbox."""

from __future__ import annotations

import math
from datetime import timedelta

from attrs import frozen

from coatcheck.domain.errors import TooManyEmails
from coatcheck.domain.keyed_attempts import KeyedAttempts
from coatcheck.domain.model import Email
from coatcheck.domain.ports import Clock
from coatcheck.domain.throttle import account_key, address_key


@frozen
class MailThrottlePolicy:
    """Within `window`, at most `recipient_limit` requests for messages to one address
    (registered or not) and `client_limit` from one client address; the request over a limit
    locks that key for a window."""

    recipient_limit: int = 5
    client_limit: int = 20
    window: timedelta = timedelta(hours=1)


def recipient_key(email: Email) -> str:
    return "mail-" + account_key(email)


def client_key(address: str) -> str | None:
    """The client's network, as the log-in throttle counts it; None if it is no address."""
    network = address_key(address)
    return None if network is None else "mail-" + network


class MailThrottle:
    """Counts every request that may send a message, whether or not it will (an unknown
    address counts as a known one, so the throttle tells nothing). Counts live in the
    log-in attempts store, under keys of their own."""

    def __init__(self, attempts: KeyedAttempts, policy: MailThrottlePolicy, clock: Clock) -> None:
        self._attempts = attempts
        self._policy = policy
        self._clock = clock

    async def attempt(self, email: Email, address: str) -> None:
        """Count this request; TooManyEmails when it is over a limit."""
        now = self._clock.now()
        keys = [(recipient_key(email), self._policy.recipient_limit)]
        client = client_key(address)
        if client is not None:
            keys.append((client, self._policy.client_limit))
        until = await self._attempts.locked_until([key for key, _ in keys])
        if until is not None and until > now:
            raise TooManyEmails(max(1, math.ceil((until - now).total_seconds())))
        for key, limit in keys:
            if await self._attempts.record_failure(key, self._policy.window, now) > limit:
                await self._attempts.claim_lock(key, now + self._policy.window, now)
                raise TooManyEmails(math.ceil(self._policy.window.total_seconds()))

    async def forget(self, email: Email) -> None:
        """Drop the counts of an address (its account is deleted)."""
        await self._attempts.clear(recipient_key(email))
