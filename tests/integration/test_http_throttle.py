"""Log-in throttling over HTTP with Redis as the counter store: failures per account and per
client address buy a 429 with Retry-After, a lock-out that grows but is capped, and a
success wipes the account's slate."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from aiohttp import ClientResponse

from coatcheck.adapters.clock import FakeClock
from tests.integration.conftest import REGISTRATION, Client, MakeClient, MakeSettings

EMAIL = REGISTRATION["email"]
RIGHT = {"email": EMAIL, "password": REGISTRATION["password"]}
WRONG = {"email": EMAIL, "password": "wrong horse"}
ACCOUNT_LIMIT = 5  # THROTTLE_ACCOUNT_LIMIT's default
# Delays long enough that Redis, which expires keys by the wall clock, keeps every lock
# for the whole test while the app's clock stands still.
BASE_DELAY, MAX_DELAY = 30, 120
THROTTLE = {"throttle_base_delay": BASE_DELAY, "throttle_max_delay": MAX_DELAY}
BOTH_LOG_IN_ROUTES = pytest.mark.parametrize(
    "path", ["/authentication/log-in", "/authentication/token"]
)


async def registered_client(make_client: MakeClient, settings: Any) -> Client:
    client = await make_client(settings)
    assert (await client.post("/authentication/register", json=REGISTRATION)).status == 201
    client.session.cookie_jar.clear()
    return client


async def attempt(
    client: Client, body: dict[str, str], path: str = "/authentication/log-in"
) -> ClientResponse:
    response = await client.post(path, json=body)
    await response.read()
    return response


async def fail(client: Client, times: int, path: str = "/authentication/log-in") -> None:
    for _ in range(times):
        assert (await attempt(client, WRONG, path)).status == 401


async def retry_after(response: ClientResponse) -> int:
    """The Retry-After of a throttled answer, checked to be a positive whole number."""
    assert response.status == 429
    assert response.content_type == "application/problem+json"
    assert (await response.json())["type"] == "urn:coatcheck:problem:too-many-attempts"
    value = response.headers["Retry-After"]
    assert value.isdigit()
    assert int(value) > 0
    return int(value)


async def locked_client(
    make_client: MakeClient, settings: Any, path: str = "/authentication/log-in"
) -> Client:
    """Registered, then the account's whole allowance of failures spent on `path`: locked."""
    client = await registered_client(make_client, settings)
    await fail(client, ACCOUNT_LIMIT, path)
    return client


def between_two_milliseconds(clock: FakeClock) -> None:
    """Move the clock to half a millisecond past a whole one, as a real clock mostly is."""
    clock.advance(timedelta(microseconds=(500 - clock.now().microsecond) % 1000))


@BOTH_LOG_IN_ROUTES
async def test_account_trips_after_the_limit_and_answers_429_with_retry_after(
    make_client: MakeClient, shared_settings: MakeSettings, path: str
) -> None:
    client = await locked_client(make_client, shared_settings(**THROTTLE), path)

    throttled = await attempt(client, WRONG, path)

    assert BASE_DELAY <= await retry_after(throttled) <= BASE_DELAY + 1
    assert "Set-Cookie" not in throttled.headers


@BOTH_LOG_IN_ROUTES
async def test_a_locked_account_refuses_even_the_right_password(
    make_client: MakeClient, shared_settings: MakeSettings, path: str
) -> None:
    client = await locked_client(make_client, shared_settings(**THROTTLE), path)

    refused = await attempt(client, RIGHT, path)

    await retry_after(refused)
    assert "Set-Cookie" not in refused.headers
    assert "token" not in await refused.text()


@BOTH_LOG_IN_ROUTES
async def test_the_right_password_works_once_retry_after_has_passed(
    make_client: MakeClient, shared_settings: MakeSettings, clock: FakeClock, path: str
) -> None:
    client = await locked_client(make_client, shared_settings(**THROTTLE), path)
    wait = await retry_after(await attempt(client, RIGHT, path))

    clock.advance(timedelta(seconds=wait - 1))
    assert (await attempt(client, RIGHT, path)).status == 429
    clock.advance(timedelta(seconds=1))
    assert (await attempt(client, RIGHT, path)).status == 200


async def test_attempts_while_locked_do_not_extend_the_lock(
    make_client: MakeClient, shared_settings: MakeSettings, clock: FakeClock
) -> None:
    client = await locked_client(make_client, shared_settings(**THROTTLE))
    wait = await retry_after(await attempt(client, WRONG))

    for _ in range(10):
        assert await retry_after(await attempt(client, WRONG)) == wait

    clock.advance(timedelta(seconds=wait))
    assert (await attempt(client, RIGHT)).status == 200


async def test_a_success_resets_the_account_counter(
    make_client: MakeClient, shared_settings: MakeSettings, clock: FakeClock
) -> None:
    client = await locked_client(make_client, shared_settings(**THROTTLE))
    clock.advance(timedelta(seconds=await retry_after(await attempt(client, WRONG))))
    assert (await attempt(client, RIGHT)).status == 200

    await fail(client, ACCOUNT_LIMIT)  # the whole allowance again, not one more failure

    await retry_after(await attempt(client, WRONG))


async def test_the_address_limit_trips_across_different_accounts(
    make_client: MakeClient, shared_settings: MakeSettings
) -> None:
    settings = shared_settings(**THROTTLE, throttle_address_limit=3, throttle_account_limit=100)
    client = await registered_client(make_client, settings)

    for email in ("a@example.com", "b@example.com", "c@example.com"):
        response = await attempt(client, {"email": email, "password": "wrong horse"})
        assert response.status == 401

    await retry_after(await attempt(client, {"email": "d@example.com", "password": "x"}))
    await retry_after(await attempt(client, RIGHT))  # from this address, every account waits


async def lock_outs(client: Client, clock: FakeClock, count: int) -> list[int]:
    """The Retry-After of `count` successive lock-outs, each waited out and re-earned."""
    await fail(client, ACCOUNT_LIMIT - 1)
    seen = []
    for _ in range(count):
        assert (await attempt(client, WRONG)).status == 401
        seen.append(await retry_after(await attempt(client, WRONG)))
        clock.advance(timedelta(seconds=seen[-1]))
    return seen


async def test_the_lock_out_doubles_from_the_base_delay_and_stops_at_the_max_delay(
    make_client: MakeClient, shared_settings: MakeSettings, clock: FakeClock
) -> None:
    settings = shared_settings(**THROTTLE, throttle_window=3600)
    client = await registered_client(make_client, settings)

    seen = await lock_outs(client, clock, 5)

    assert seen == [30, 60, 120, 120, 120]
    assert (await attempt(client, RIGHT)).status == 200


async def test_the_owner_is_never_locked_out_longer_than_the_max_delay(
    make_client: MakeClient, shared_settings: MakeSettings, clock: FakeClock
) -> None:
    settings = shared_settings(**THROTTLE, throttle_window=3600)
    client = await registered_client(make_client, settings)
    between_two_milliseconds(clock)
    await lock_outs(client, clock, 3)  # 30, 60, 120: the cap is reached
    assert (await attempt(client, WRONG)).status == 401
    locked = await attempt(client, RIGHT)

    assert await retry_after(locked) <= MAX_DELAY
    clock.advance(timedelta(seconds=MAX_DELAY))
    assert (await attempt(client, RIGHT)).status == 200


async def test_with_the_throttle_off_failures_never_answer_429(
    make_client: MakeClient, shared_settings: MakeSettings
) -> None:
    settings = shared_settings(login_throttle=False, throttle_address_limit=3)
    client = await registered_client(make_client, settings)

    await fail(client, 4 * ACCOUNT_LIMIT)
    await fail(client, ACCOUNT_LIMIT, "/authentication/token")

    assert (await attempt(client, RIGHT)).status == 200


async def test_wrong_current_passwords_on_change_password_are_throttled_like_log_ins(
    make_client: MakeClient, shared_settings: MakeSettings
) -> None:
    client = await make_client(shared_settings(**THROTTLE))
    assert (await client.post("/authentication/register", json=REGISTRATION)).status == 201
    wrong = {"currentPassword": "wrong horse", "newPassword": "another horse"}
    right = {"currentPassword": REGISTRATION["password"], "newPassword": "another horse"}

    for _ in range(ACCOUNT_LIMIT):
        response = await client.post("/authentication/change-password", json=wrong)
        assert response.status == 401
    await retry_after(await client.post("/authentication/change-password", json=right))
    await retry_after(await attempt(client, RIGHT))  # the account itself is locked


DEVICE_COOKIE = "coatcheck-device"


async def test_the_owners_browser_logs_in_while_others_keep_the_account_locked(
    make_client: MakeClient, shared_settings: MakeSettings
) -> None:
    client = await make_client(shared_settings(**THROTTLE))
    registered = await client.post("/authentication/register", json=REGISTRATION)
    device = registered.cookies[DEVICE_COOKIE].value
    client.session.cookie_jar.clear()
    await fail(client, ACCOUNT_LIMIT)  # someone else, from a browser that never logged in

    await retry_after(await attempt(client, RIGHT))  # a new browser waits, as they do
    owners = await client.post(
        "/authentication/log-in", json=RIGHT, cookies={DEVICE_COOKIE: device}
    )

    assert owners.status == 200
    assert owners.cookies[DEVICE_COOKIE].value == device  # kept, and its Max-Age renewed


async def test_a_device_cookie_of_another_account_does_not_escape_the_lock_out(
    make_client: MakeClient, shared_settings: MakeSettings
) -> None:
    client = await make_client(shared_settings(**THROTTLE))
    await client.post("/authentication/register", json=REGISTRATION)
    client.session.cookie_jar.clear()  # Eve's browser is not Ada's
    other = REGISTRATION | {"email": "eve@example.com"}
    device = (await client.post("/authentication/register", json=other)).cookies[DEVICE_COOKIE]
    client.session.cookie_jar.clear()
    await fail(client, ACCOUNT_LIMIT)

    response = await client.post(
        "/authentication/log-in", json=RIGHT, cookies={DEVICE_COOKIE: device.value}
    )

    await retry_after(response)


async def test_an_ipv6_client_rotating_inside_its_64_has_one_budget(
    make_client: MakeClient, shared_settings: MakeSettings
) -> None:
    settings = shared_settings(**THROTTLE, trusted_proxies="127.0.0.1", throttle_address_limit=2)
    client = await make_client(settings)

    async def from_address(address: str, email: str) -> ClientResponse:
        body = {"email": email, "password": "wrong horse"}
        forwarded = {"X-Forwarded-For": address}
        return await client.post("/authentication/log-in", json=body, headers=forwarded)

    assert (await from_address("2001:db8::1", "a@example.com")).status == 401
    assert (await from_address("2001:db8::2:3", "b@example.com")).status == 401
    await retry_after(await from_address("2001:db8::ffff:1", "c@example.com"))
    assert (await from_address("2001:db8:0:1::1", "c@example.com")).status == 401


async def test_an_ipv4_mapped_client_shares_the_budget_of_its_ipv4_form(
    make_client: MakeClient, shared_settings: MakeSettings
) -> None:
    settings = shared_settings(**THROTTLE, trusted_proxies="127.0.0.1", throttle_address_limit=2)
    client = await make_client(settings)
    statuses = []
    for number, address in enumerate(["203.0.113.7", "::ffff:203.0.113.7", "203.0.113.7"]):
        body = {"email": f"user{number}@example.com", "password": "wrong horse"}
        forwarded = {"X-Forwarded-For": address}
        response = await client.post("/authentication/log-in", json=body, headers=forwarded)
        statuses.append(response.status)

    assert statuses == [401, 401, 429]


REGISTER_LIMIT = 10  # REGISTER_THROTTLE_LIMIT's default


def someone(number: int) -> dict[str, str]:
    return REGISTRATION | {"email": f"user{number}@example.com"}


async def test_registrations_from_one_address_answer_429_after_the_limit_409s_included(
    make_client: MakeClient, shared_settings: MakeSettings
) -> None:
    client = await make_client(shared_settings())
    statuses = []
    for number in range(REGISTER_LIMIT):
        body = REGISTRATION if number % 2 else someone(number)  # Ada's email, taken: 409
        response = await client.post("/authentication/register", json=body)
        statuses.append(response.status)

    refused = await client.post("/authentication/register", json=someone(REGISTER_LIMIT))

    assert sorted(set(statuses)) == [201, 409]
    assert await retry_after(refused) == 3600  # REGISTER_THROTTLE_WINDOW's default
    assert "registrations" in (await refused.json())["detail"]


async def test_with_register_throttle_false_registrations_are_not_throttled(
    make_client: MakeClient, shared_settings: MakeSettings
) -> None:
    client = await make_client(shared_settings(register_throttle=False))
    for number in range(REGISTER_LIMIT + 2):
        response = await client.post("/authentication/register", json=someone(number))
        assert response.status == 201
