"""MailThrottle: requests for messages are counted per recipient and per client address."""

from __future__ import annotations

from datetime import timedelta

import pytest

from coatcheck.adapters.clock import FakeClock
from coatcheck.adapters.memory import InMemoryLoginAttempts
from coatcheck.domain.errors import TooManyEmails
from coatcheck.domain.mail_throttle import MailThrottle, MailThrottlePolicy
from coatcheck.domain.model import Email

POLICY = MailThrottlePolicy(recipient_limit=2, client_limit=3, window=timedelta(minutes=10))


@pytest.fixture
def throttle(clock: FakeClock) -> MailThrottle:
    return MailThrottle(InMemoryLoginAttempts(), POLICY, clock)


async def test_the_request_over_the_recipient_limit_locks_it_for_a_window(
    throttle: MailThrottle, clock: FakeClock
) -> None:
    ada = Email("ada@example.com")
    await throttle.attempt(ada, "192.0.2.1")
    await throttle.attempt(ada, "192.0.2.2")

    with pytest.raises(TooManyEmails) as raised:
        await throttle.attempt(ada, "192.0.2.3")
    assert raised.value.retry_after_seconds == 600
    clock.advance(timedelta(minutes=4))
    with pytest.raises(TooManyEmails) as raised:
        await throttle.attempt(ada, "192.0.2.4")
    assert raised.value.retry_after_seconds == 360
    clock.advance(timedelta(minutes=6))
    await throttle.attempt(ada, "192.0.2.5")


async def test_one_client_asking_for_many_addresses_is_limited(throttle: MailThrottle) -> None:
    for n in range(3):
        await throttle.attempt(Email(f"n{n}@example.com"), "192.0.2.1")
    with pytest.raises(TooManyEmails):
        await throttle.attempt(Email("n3@example.com"), "192.0.2.1")
    await throttle.attempt(Email("n3@example.com"), "192.0.2.9")


async def test_forget_clears_an_addresses_count(throttle: MailThrottle) -> None:
    ada = Email("ada@example.com")
    await throttle.attempt(ada, "")
    await throttle.attempt(ada, "")
    await throttle.forget(ada)
    await throttle.attempt(ada, "")
