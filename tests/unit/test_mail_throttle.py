"""MailThrottle: requests are counted per client network (loudly) and letters spaced per
address and kind (silently), alike for an address with an account and one without."""

from __future__ import annotations

from datetime import timedelta

import pytest

from coatcheck.adapters.clock import FakeClock
from coatcheck.adapters.memory import InMemoryLoginAttempts
from coatcheck.domain.errors import TooManyEmails
from coatcheck.domain.letters import OrderKind
from coatcheck.domain.mail_throttle import MailThrottle, MailThrottlePolicy
from coatcheck.domain.model import Email

POLICY = MailThrottlePolicy(recipient_limit=2, client_limit=3, window=timedelta(minutes=10))
RESET, CHANGE, VERIFY = OrderKind.PASSWORD_RESET, OrderKind.CHANGE_EMAIL, OrderKind.VERIFY_EMAIL
ADA = Email("ada@example.com")


@pytest.fixture
def throttle(clock: FakeClock) -> MailThrottle:
    return MailThrottle(InMemoryLoginAttempts(), POLICY, clock)


async def test_letters_to_one_address_are_spaced_without_a_word(
    throttle: MailThrottle, clock: FakeClock
) -> None:
    assert POLICY.spacing == timedelta(minutes=5)
    assert await throttle.attempt(RESET, ADA, "192.0.2.1") is True
    assert await throttle.attempt(RESET, ADA, "192.0.2.2") is False  # no error: silent
    assert await throttle.attempt(CHANGE, ADA, "192.0.2.3") is True  # another kind
    clock.advance(timedelta(minutes=4, seconds=59))
    assert await throttle.attempt(RESET, ADA, "192.0.2.4") is False
    clock.advance(timedelta(seconds=1))
    assert await throttle.attempt(RESET, ADA, "192.0.2.5") is True


async def test_one_client_network_asking_too_often_is_refused_for_a_window(
    throttle: MailThrottle, clock: FakeClock
) -> None:
    for n in range(3):
        await throttle.attempt(RESET, Email(f"n{n}@example.com"), "192.0.2.1")
    with pytest.raises(TooManyEmails) as raised:
        await throttle.attempt(RESET, Email("n3@example.com"), "192.0.2.1")
    assert raised.value.retry_after_seconds == 600
    assert await throttle.attempt(RESET, Email("n3@example.com"), "198.51.100.9") is True
    clock.advance(timedelta(minutes=10))
    assert await throttle.attempt(RESET, Email("n4@example.com"), "192.0.2.1") is True


async def test_tagged_addresses_of_one_mailbox_share_one_spacing(
    throttle: MailThrottle, clock: FakeClock
) -> None:
    """`ada+1@x`, `ada+2@x`... are distinct accounts' addresses, delivered to one inbox."""
    assert await throttle.attempt(RESET, Email("ada+1@example.com"), "192.0.2.1") is True
    for n in range(2, 6):
        assert (
            await throttle.attempt(RESET, Email(f"ada+{n}@example.com"), f"198.51.{n}.1") is False
        )
    assert await throttle.attempt(CHANGE, Email("ada+9@example.com"), "198.51.100.2") is True
    assert await throttle.attempt(RESET, Email("bob+1@example.com"), "198.51.100.3") is True
    clock.advance(POLICY.spacing)
    assert await throttle.attempt(RESET, Email("ada+7@example.com"), "198.51.100.4") is True


async def test_asking_for_tagged_addresses_never_holds_back_the_untagged_ones_letters(
    throttle: MailThrottle,
) -> None:
    """The owner of `ada@x` still gets a link at once, however many tags strangers try."""
    assert await throttle.attempt(RESET, Email("ada+x@example.com"), "192.0.2.1") is True
    assert await throttle.attempt(RESET, ADA, "198.51.100.1") is True
    assert await throttle.attempt(RESET, Email("ada+y@example.com"), "192.0.2.2") is False


async def test_a_registrations_letter_counts_against_the_address_limit(
    throttle: MailThrottle,
) -> None:
    assert await throttle.letter_may_go(VERIFY, ADA) is True
    assert await throttle.attempt(VERIFY, ADA, "192.0.2.1") is False  # a resend, too soon
    assert await throttle.letter_may_go(VERIFY, Email("ada+1@example.com")) is True
    assert await throttle.letter_may_go(VERIFY, Email("ada+2@example.com")) is False
