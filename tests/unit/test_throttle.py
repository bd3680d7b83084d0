"""Log-in throttling through LogIn: per account and per address, with growing, capped delays."""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
from collections.abc import Iterator
from datetime import timedelta

import pytest

from coatcheck.domain.errors import InvalidCredentials, TooManyAttempts
from coatcheck.domain.model import ClientInfo, Email
from coatcheck.domain.throttle import Budget, ThrottlePolicy, account_key, address_key
from coatcheck.domain.tickets import DeviceToken
from tests.unit.conftest import EMAIL, Build, Domain

WRONG = "not the password"
HERE = ClientInfo("Mozilla/5.0 (Test)", "203.0.113.7")
THERE = ClientInfo("Mozilla/5.0 (Test)", "198.51.100.99")


async def _fail(app: Domain, times: int, email: str = EMAIL, client: ClientInfo = HERE) -> None:
    for _ in range(times):
        with pytest.raises(InvalidCredentials):
            await app.logged_in(email, WRONG, client=client)


async def _locked_for(app: Domain, email: str = EMAIL, client: ClientInfo = HERE) -> int:
    """The Retry-After a log-in with the right password gets; fails if it is not locked."""
    with pytest.raises(TooManyAttempts) as raised:
        await app.logged_in(email, client=client)
    return raised.value.retry_after_seconds


@pytest.fixture
async def user(app: Domain) -> Domain:
    await app.add_user()
    return app


async def test_failures_below_the_account_limit_do_not_lock(user: Domain) -> None:
    app = user
    await _fail(app, app.throttle_policy.account_limit - 1)
    assert (await app.logged_in()).user.email == Email(EMAIL)


async def test_after_the_account_limit_even_the_right_password_is_refused(user: Domain) -> None:
    app = user
    await _fail(app, app.throttle_policy.account_limit)
    assert await _locked_for(app) > 0
    assert app.sessions.by_digest == {}


async def test_account_lock_applies_from_any_address(user: Domain) -> None:
    app = user
    await _fail(app, app.throttle_policy.account_limit, client=HERE)
    assert await _locked_for(app, client=THERE) > 0


async def test_account_lock_expires_after_at_most_max_delay(user: Domain) -> None:
    app = user
    await _fail(app, app.throttle_policy.account_limit)
    await _locked_for(app)
    app.clock.advance(app.throttle_policy.max_delay)
    assert (await app.logged_in()).user.email == Email(EMAIL)


async def test_an_attacker_can_lock_the_owner_out_for_at_most_max_delay_at_a_time(
    user: Domain,
) -> None:
    app = user
    policy = app.throttle_policy
    await _fail(app, policy.account_limit)
    for _ in range(10):  # keep failing as soon as the lock allows it
        app.clock.advance(timedelta(seconds=await _locked_for(app)))
        await _fail(app, 1)
    assert await _locked_for(app) <= policy.max_delay.total_seconds()
    app.clock.advance(policy.max_delay)
    assert (await app.logged_in()).user.email == Email(EMAIL)


async def test_delays_double_and_are_capped_at_max_delay(build: Build) -> None:
    app = await build(throttle_policy=ThrottlePolicy(max_delay=timedelta(seconds=60)))
    await app.add_user()
    await _fail(app, app.throttle_policy.account_limit - 1)
    delays = []
    for _ in range(9):
        await _fail(app, 1)
        delay = await _locked_for(app)
        delays.append(delay)
        app.clock.advance(timedelta(seconds=delay))
    assert delays == [1, 2, 4, 8, 16, 32, 60, 60, 60]


async def test_attempts_refused_while_locked_do_not_count_as_failures(user: Domain) -> None:
    app = user
    await _fail(app, app.throttle_policy.account_limit)
    before = dict(app.login_attempts.failures)
    for _ in range(10):
        with pytest.raises(TooManyAttempts):
            await app.logged_in(password=WRONG)
    assert app.login_attempts.failures == before


async def test_a_success_resets_the_account_counter(user: Domain) -> None:
    app = user
    limit = app.throttle_policy.account_limit
    await _fail(app, limit - 1)
    await app.logged_in()
    assert app.throttle_counts.stored(account_key(Email(EMAIL))) not in app.login_attempts.failures
    await _fail(app, limit - 1)
    assert (await app.logged_in()).user.email == Email(EMAIL)


async def test_one_locked_account_does_not_lock_another(user: Domain) -> None:
    app = user
    await app.add_user("grace@example.com")
    await _fail(app, app.throttle_policy.account_limit, client=HERE)
    logged_in = await app.logged_in("grace@example.com", client=THERE)
    assert logged_in.user.email == Email("grace@example.com")


async def test_an_address_trying_many_accounts_is_locked(build: Build) -> None:
    app = await build(throttle_policy=ThrottlePolicy(account_limit=5, address_limit=4))
    await app.add_user()
    for number in range(4):
        await _fail(app, 1, email=f"victim{number}@example.com", client=HERE)

    assert await _locked_for(app, client=HERE) > 0
    assert (await app.logged_in(client=THERE)).user.email == Email(EMAIL)
    assert app.throttle_counts.stored(address_key(HERE.address)) in app.login_attempts.locks


async def test_an_address_counts_successful_attempts_too(build: Build) -> None:
    """Else one valid account of the attacker's would reset the address between guesses."""
    app = await build(throttle_policy=ThrottlePolicy(account_limit=5, address_limit=4))
    await app.add_user()
    for number in range(3):
        await _fail(app, 1, email=f"victim{number}@example.com", client=HERE)
    await app.logged_in(client=HERE)
    assert await _locked_for(app, client=HERE) > 0


async def test_parallel_guesses_on_one_account_are_checked_at_most_limit_times(
    user: Domain,
) -> None:
    app = user
    guesses = [app.logged_in(password=WRONG, client=HERE) for _ in range(50)]
    results = await asyncio.gather(*guesses, return_exceptions=True)
    checked = sum(isinstance(result, InvalidCredentials) for result in results)
    refused = sum(isinstance(result, TooManyAttempts) for result in results)
    assert checked == app.throttle_policy.account_limit
    assert refused == 50 - checked


async def test_a_disabled_policy_never_throttles(build: Build) -> None:
    app = await build(throttle_policy=ThrottlePolicy(enabled=False))
    await app.add_user()
    await _fail(app, 50)
    for number in range(50):
        await _fail(app, 1, email=f"victim{number}@example.com")
    assert (await app.logged_in()).user.email == Email(EMAIL)
    assert app.login_attempts.failures == {}
    assert app.login_attempts.locks == {}


def test_a_budget_has_no_delay_below_its_limit() -> None:
    budget = ThrottlePolicy().account
    assert budget.delay(budget.limit - 1) is None


def test_a_budgets_delay_grows_from_the_base_delay_and_is_capped() -> None:
    second = timedelta(seconds=1)
    budget = Budget(3, timedelta(minutes=15), 2 * second, 30 * second)
    delays = [budget.delay(failures) for failures in range(3, 9)]
    assert delays == [timedelta(seconds=s) for s in (2, 4, 8, 16, 30, 30)]
    assert budget.delay(10_000) == timedelta(seconds=30)


def test_account_key_carries_no_email_address() -> None:
    key = account_key(Email(EMAIL))
    assert "ada" not in key
    assert "example" not in key
    assert account_key(Email(" ADA@example.com")) == key


# --- client addresses: IPv6 by prefix, IPv4-mapped as IPv4, never a zone


async def _fail_from(app: Domain, addresses: list[str]) -> None:
    for number, address in enumerate(addresses):
        await _fail(app, 1, f"victim{number}@example.com", ClientInfo("x", address))


async def test_ipv6_addresses_in_one_prefix_share_one_budget(build: Build) -> None:
    app = await build(throttle_policy=ThrottlePolicy(address_limit=4))
    await app.add_user()
    await _fail_from(app, ["2001:db8::1", "2001:db8::2", "2001:db8::3:4", "2001:db8::ffff:1"])

    assert await _locked_for(app, client=ClientInfo("x", "2001:db8::abcd:1234:5678:9")) > 0
    assert (await app.logged_in(client=ClientInfo("x", "2001:db8:0:1::1"))).user


async def test_the_ipv6_prefix_that_groups_addresses_is_configurable(build: Build) -> None:
    app = await build(throttle_policy=ThrottlePolicy(address_limit=4, ipv6_prefix=128))
    await app.add_user()
    await _fail_from(app, ["2001:db8::1", "2001:db8::2", "2001:db8::3:4", "2001:db8::ffff:1"])

    assert (await app.logged_in(client=ClientInfo("x", "2001:db8::5"))).user


async def test_an_ipv4_mapped_address_counts_as_its_ipv4_form(build: Build) -> None:
    app = await build(throttle_policy=ThrottlePolicy(address_limit=4))
    await app.add_user()
    await _fail_from(app, ["::ffff:203.0.113.7", "203.0.113.7", "::ffff:cb00:7107", "203.0.113.7"])

    assert await _locked_for(app, client=ClientInfo("x", "203.0.113.7")) > 0
    assert await _locked_for(app, client=ClientInfo("x", "::ffff:203.0.113.7")) > 0


@pytest.mark.parametrize(
    "address", ["fe80::1%eth0", "fe80::1%\udcff\udcfe", "fe80::1%25", "fe80::2:3"]
)
def test_a_zone_is_never_part_of_an_address_key(address: str) -> None:
    assert address_key(address) == "address:fe80::/64"


@pytest.mark.parametrize("address", ["", "unix", "not an address", "::ffff:1.2.3.4.5"])
def test_what_is_not_an_address_has_no_address_key(address: str) -> None:
    assert address_key(address) is None


def test_an_ipv4_address_is_its_own_key() -> None:
    assert address_key("203.0.113.7") == address_key("::ffff:203.0.113.7") == "address:203.0.113.7"


# --- an account's lock-out grows while failures continue


def _addresses() -> Iterator[ClientInfo]:
    """A fresh client address for every attempt: as many as an attacker may have."""
    for number in itertools.count():
        yield ClientInfo("x", str(ipaddress.IPv4Address("10.0.0.0") + number))


async def _guess_for(app: Domain, duration: timedelta) -> list[timedelta]:
    """An attacker guessing one account's password from ever new addresses, as soon as
    every Retry-After allows: when (after the start) each guess was checked. The account
    is left locked (the last guess takes the lock, or meets it)."""
    start, checked, clients = app.clock.now(), [], _addresses()
    while True:
        try:
            await app.logged_in(password=WRONG, client=next(clients))
        except InvalidCredentials:
            checked.append(app.clock.now() - start)
        except TooManyAttempts as refused:
            if app.clock.now() - start >= duration:
                return checked
            app.clock.advance(timedelta(seconds=refused.retry_after_seconds))


async def test_a_day_of_guessing_one_account_at_the_defaults_checks_39_guesses_then_24(
    user: Domain,
) -> None:
    """The arithmetic of the README and docs/security.md: 5 guesses at once, then waits of
    1, 2, 4, ... 2048 s (12 guesses by 4,095 s), then one an hour (the max delay) for the
    rest of the day: 5 + 12 + 22 = 39; from the second day on, one an hour: 24."""
    day = timedelta(days=1)

    checked = await _guess_for(user, 2 * day)

    assert len([moment for moment in checked if moment < day]) == 39
    assert len([moment for moment in checked if day <= moment < 2 * day]) == 24


async def test_one_address_guessing_many_accounts_at_the_defaults_gets_59_attempts_a_window(
    app: Domain,
) -> None:
    """The arithmetic of docs/security.md: 50 attempts at once, then 9 more, each waiting for
    the lock the one before took (at 1, 3, 7, ..., 511 s); the last locks until 1,023 s,
    when a new window starts with 50 more."""
    start, checked = app.clock.now(), []
    emails = (f"guess{number}@example.com" for number in itertools.count())
    while app.clock.now() - start <= timedelta(seconds=1023):
        try:
            await app.logged_in(next(emails), WRONG, client=HERE)
        except InvalidCredentials:
            checked.append((app.clock.now() - start).total_seconds())
        except TooManyAttempts as refused:
            app.clock.advance(timedelta(seconds=refused.retry_after_seconds))

    first_window = [moment for moment in checked if moment < 1023]
    assert first_window == [0.0] * 50 + [2.0**n - 1 for n in range(1, 10)]
    assert checked[len(first_window) :] == [1023.0] * 50


async def test_the_lock_out_keeps_doubling_across_windows_while_failures_continue(
    user: Domain,
) -> None:
    app = user
    await _fail(app, app.throttle_policy.account_limit - 1)
    delays = []
    for _ in range(12):
        await _fail(app, 1, client=next(CLIENTS))
        delays.append(await _locked_for(app, client=next(CLIENTS)))
        app.clock.advance(timedelta(seconds=delays[-1]))

    assert delays == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048]


async def test_a_success_ends_the_lock_out_growth(user: Domain) -> None:
    app = user
    await _guess_for(app, timedelta(hours=2))
    app.clock.advance(app.throttle_policy.max_delay)

    await app.logged_in(client=THERE)

    await _fail(app, app.throttle_policy.account_limit - 1)
    assert (await app.logged_in(client=THERE)).user.email == Email(EMAIL)


async def test_an_accounts_failures_are_forgotten_after_a_quiet_account_window(
    user: Domain,
) -> None:
    app = user
    limit = app.throttle_policy.account_limit
    await _fail(app, limit - 1)
    app.clock.advance(app.throttle_policy.account_window)
    await _fail(app, limit - 1)
    assert (await app.logged_in()).user.email == Email(EMAIL)


# --- the owner's devices are not held by the lock-out others caused


async def test_a_device_that_logged_in_before_is_not_held_by_a_lock_out_others_caused(
    user: Domain,
) -> None:
    app = user
    device = (await app.logged_in(client=HERE)).device
    assert device is not None

    await _guess_for(app, timedelta(hours=3))  # the account is locked for an hour at a time

    assert await _locked_for(app, client=HERE) > 0  # a device that never logged in waits
    assert (await app.logged_in(client=HERE, device=device)).user.email == Email(EMAIL)


async def test_a_device_keeps_its_token_and_gets_one_when_it_had_none(user: Domain) -> None:
    app = user
    first = (await app.logged_in()).device
    again = (await app.logged_in(device=first)).device
    assert first is not None
    assert again == first
    assert first.value not in repr(first)


async def test_a_made_up_or_another_accounts_device_token_has_no_budget_of_its_own(
    user: Domain,
) -> None:
    app = user
    await app.add_user("grace@example.com")
    graces = (await app.logged_in("grace@example.com")).device
    await _guess_for(app, timedelta(minutes=10))

    for device in (DeviceToken.issue(), graces):
        assert await _locked_for_with(app, device) > 0


async def test_a_trusted_device_has_a_budget_of_its_own_that_it_can_spend(user: Domain) -> None:
    app = user
    device = (await app.logged_in()).device
    for _ in range(app.throttle_policy.account_limit):
        with pytest.raises(InvalidCredentials):
            await app.logged_in(password=WRONG, device=device)

    assert await _locked_for_with(app, device) > 0
    assert (await app.logged_in(client=THERE)).user.email == Email(EMAIL)  # others are not held


async def test_a_device_is_known_for_the_device_lifetime_from_its_last_log_in(
    user: Domain,
) -> None:
    app = user
    device = (await app.logged_in()).device
    app.clock.advance(app.throttle_policy.device_lifetime)
    await _guess_for(app, timedelta(minutes=10))

    assert await _locked_for_with(app, device) > 0


async def test_with_the_throttle_off_no_device_is_remembered(build: Build) -> None:
    app = await build(throttle_policy=ThrottlePolicy(enabled=False))
    await app.add_user()

    assert (await app.logged_in()).device is None


async def _locked_for_with(app: Domain, device: DeviceToken | None) -> int:
    with pytest.raises(TooManyAttempts) as raised:
        await app.logged_in(client=THERE, device=device)
    return raised.value.retry_after_seconds


CLIENTS = _addresses()
