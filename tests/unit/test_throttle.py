"""Log-in throttling through LogIn: per account and per address, with growing, capped delays."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from domain.errors import InvalidCredentials, TooManyAttempts
from domain.model import ClientInfo, Email
from domain.throttle import ThrottlePolicy, account_key, address_key
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


async def test_delays_double_and_are_capped_at_max_delay(user: Domain) -> None:
    app = user
    policy = app.throttle_policy
    await _fail(app, policy.account_limit - 1)
    delays = []
    for _ in range(9):
        await _fail(app, 1)
        delay = await _locked_for(app)
        delays.append(delay)
        app.clock.advance(timedelta(seconds=delay))
    assert delays == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert policy.max_delay == timedelta(seconds=60)


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
    assert account_key(Email(EMAIL)) not in app.login_attempts.failures
    await _fail(app, limit - 1)
    assert (await app.logged_in()).user.email == Email(EMAIL)


async def test_failures_older_than_the_window_are_forgotten(user: Domain) -> None:
    app = user
    limit = app.throttle_policy.account_limit
    await _fail(app, limit - 1)
    app.clock.advance(app.throttle_policy.window)
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
    assert address_key(HERE.address) in app.login_attempts.locks


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


def test_policy_delay_is_none_below_the_limit() -> None:
    policy = ThrottlePolicy()
    assert policy.delay(policy.account_limit - 1, policy.account_limit) is None


def test_policy_delay_grows_from_the_base_delay_and_is_capped() -> None:
    policy = ThrottlePolicy(base_delay=timedelta(seconds=2), max_delay=timedelta(seconds=30))
    delays = [policy.delay(failures, 3) for failures in range(3, 9)]
    assert delays == [timedelta(seconds=s) for s in (2, 4, 8, 16, 30, 30)]
    assert policy.delay(10_000, 3) == timedelta(seconds=30)


def test_account_key_carries_no_email_address() -> None:
    key = account_key(Email(EMAIL))
    assert "ada" not in key
    assert "example" not in key
    assert account_key(Email(" ADA@example.com")) == key
