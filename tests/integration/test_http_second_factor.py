"""Second factors over HTTP, on PostgreSQL and Redis: the authenticator app, recovery codes,
the log-in's second step with its pending cookie, token clients, a password reset, recent
authentication, and every refusal."""

from __future__ import annotations

import base64
import os
from datetime import timedelta
from typing import Any

import pyotp
import pytest
from aiohttp import ClientResponse

from coatcheck.adapters.clock import FakeClock
from tests.integration.conftest import (
    CREDENTIALS,
    SESSION_SECRET,
    Client,
    MakeClient,
    MakeSettings,
)
from tests.integration.http import COOKIE, register, set_cookies, settled
from tests.integration.mailbox import Mailbox
from tests.integration.test_password_reset import confirm, reset_token

PENDING = COOKIE + "-pending"
FACTOR_KEYS = base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
def settings(shared_settings: MakeSettings) -> MakeSettings:
    def make(**overrides: Any) -> Any:
        return shared_settings(**({"factor_keys": FACTOR_KEYS} | overrides))

    return make


@pytest.fixture
async def client(settings: MakeSettings, make_client: MakeClient) -> Client:
    return await make_client(settings())


def code(secret: str, clock: FakeClock, steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(clock.now().timestamp() + 30 * steps)


async def problem_type(response: ClientResponse) -> str:
    assert response.content_type == "application/problem+json"
    return str((await response.json())["type"]).rpartition(":")[2]


async def with_app(client: Client, clock: FakeClock) -> tuple[str, list[str]]:
    """Ada, registered, with an active authenticator app: its secret and recovery codes."""
    await register(client)
    setup = await client.post("/authentication/totp")
    assert setup.status == 200
    secret = (await setup.json())["secret"]
    confirmed = await client.post(
        "/authentication/totp/confirm", json={"code": code(secret, clock)}
    )
    assert confirmed.status == 200
    clock.advance(timedelta(seconds=30))  # the next code is a new one
    return secret, (await confirmed.json())["recoveryCodes"]


async def pending_log_in(client: Client) -> ClientResponse:
    client.session.cookie_jar.clear()
    response = await client.post("/authentication/log-in", json=CREDENTIALS)
    assert response.status == 200
    return response


async def test_setting_up_the_app_answers_its_secret_uri_and_qr_code(client: Client) -> None:
    await register(client)

    response = await client.post("/authentication/totp")

    body = await response.json()
    assert response.status == 200
    assert pyotp.TOTP(body["secret"]).now().isdigit()
    assert body["otpauthUri"].startswith("otpauth://totp/coatcheck:ada%40example.com?secret=")
    assert body["qrSvg"].startswith("<svg")
    assert 'xmlns="http://www.w3.org/2000/svg"' in body["qrSvg"]


async def test_the_first_factor_comes_with_ten_recovery_codes(
    client: Client, clock: FakeClock
) -> None:
    _, codes = await with_app(client, clock)

    assert len(set(codes)) == 10
    factors = await (await client.get("/authentication/factors")).json()
    assert factors == {
        "totp": True,
        "passkeys": 0,
        "recoveryCodes": 10,
        "methods": ["totp", "recovery-code"],
    }


async def test_a_wrong_code_does_not_confirm_the_app(client: Client, clock: FakeClock) -> None:
    await register(client)
    secret = (await (await client.post("/authentication/totp")).json())["secret"]

    response = await client.post(
        "/authentication/totp/confirm", json={"code": code(secret, clock, steps=3)}
    )

    assert (response.status, await problem_type(response)) == (401, "invalid-code")


async def test_a_right_password_answers_a_pending_cookie_that_is_not_a_session(
    client: Client, clock: FakeClock
) -> None:
    await with_app(client, clock)

    response = await pending_log_in(client)

    assert await response.json() == {
        "secondFactorRequired": True,
        "methods": ["totp", "recovery-code"],
        "expiresAt": (await response.json())["expiresAt"],
    }
    cookies = set_cookies(response)
    assert COOKIE not in cookies
    assert "httponly" in cookies[PENDING]
    assert int(cookies[PENDING]["max-age"]) <= 300
    assert (await client.get("/authentication")).status == 401
    pending = cookies[PENDING][""]
    client.session.cookie_jar.clear()
    as_session = await client.get("/authentication", headers={"Cookie": f"{COOKIE}={pending}"})
    assert as_session.status == 401
    as_bearer = await client.get("/authentication", headers={"Authorization": f"Bearer {pending}"})
    assert as_bearer.status == 401


async def test_the_second_step_with_a_code_logs_in_and_clears_the_pending_cookie(
    client: Client, clock: FakeClock
) -> None:
    secret, _ = await with_app(client, clock)
    await pending_log_in(client)

    response = await client.post(
        "/authentication/log-in/second-factor", json={"code": code(secret, clock)}
    )

    assert response.status == 200
    assert (await response.json())["email"] == "ada@example.com"
    cookies = set_cookies(response)
    assert cookies[COOKIE][""]
    assert cookies[PENDING]["max-age"] == "0"
    assert (await client.get("/authentication")).status == 200
    verify = await client.get("/authentication/verify")
    assert verify.headers["X-Auth-Methods"] == "password,totp"


async def test_a_replayed_code_is_refused(client: Client, clock: FakeClock) -> None:
    secret, _ = await with_app(client, clock)
    used = code(secret, clock)
    await pending_log_in(client)
    first = await client.post("/authentication/log-in/second-factor", json={"code": used})
    assert first.status == 200

    await pending_log_in(client)
    again = await client.post("/authentication/log-in/second-factor", json={"code": used})

    assert (again.status, await problem_type(again)) == (401, "invalid-second-factor")


async def test_wrong_codes_are_refused_then_throttled(client: Client, clock: FakeClock) -> None:
    secret, _ = await with_app(client, clock)
    await pending_log_in(client)
    statuses = []
    for _ in range(6):
        wrong = await client.post("/authentication/log-in/second-factor", json={"code": "000000"})
        statuses.append(wrong.status)

    assert statuses[:5] == [401] * 5
    assert statuses[5] == 429
    right = await client.post(
        "/authentication/log-in/second-factor", json={"code": code(secret, clock)}
    )
    assert right.status == 429
    assert int(right.headers["Retry-After"]) >= 1


async def test_the_second_step_without_a_pending_log_in_is_refused(client: Client) -> None:
    response = await client.post("/authentication/log-in/second-factor", json={"code": "123456"})

    assert (response.status, await problem_type(response)) == (401, "no-pending-log-in")


async def test_an_expired_pending_log_in_is_refused(client: Client, clock: FakeClock) -> None:
    secret, _ = await with_app(client, clock)
    await pending_log_in(client)
    clock.advance(timedelta(minutes=6))

    response = await client.post(
        "/authentication/log-in/second-factor", json={"code": code(secret, clock)}
    )

    assert (response.status, await problem_type(response)) == (401, "no-pending-log-in")


async def test_a_malformed_code_is_a_clear_400(client: Client, clock: FakeClock) -> None:
    await with_app(client, clock)
    await pending_log_in(client)

    for body in ({"code": "12345"}, {"code": 123456}, {"recoveryCode": "not one!"}):
        response = await client.post("/authentication/log-in/second-factor", json=body)
        assert (response.status, await problem_type(response)) == (400, "invalid-request")


async def test_a_recovery_code_works_once_and_is_told(client: Client, clock: FakeClock) -> None:
    _, codes = await with_app(client, clock)
    await pending_log_in(client)
    first = await client.post(
        "/authentication/log-in/second-factor", json={"recoveryCode": codes[0]}
    )
    assert first.status == 200
    verify = await client.get("/authentication/verify")
    assert verify.headers["X-Auth-Methods"] == "password,recovery-code"

    await pending_log_in(client)
    again = await client.post(
        "/authentication/log-in/second-factor", json={"recoveryCode": codes[0]}
    )

    assert again.status == 401
    await settled(client)


async def test_a_token_client_sends_the_code_with_the_password(
    client: Client, clock: FakeClock
) -> None:
    secret, codes = await with_app(client, clock)
    client.session.cookie_jar.clear()

    without = await client.post("/authentication/token", json=CREDENTIALS)
    body = await without.json()
    assert (without.status, await problem_type(without)) == (401, "second-factor-required")
    assert body["methods"] == ["totp", "recovery-code"]

    wrong = await client.post("/authentication/token", json=CREDENTIALS | {"code": "000000"})
    assert (wrong.status, await problem_type(wrong)) == (401, "invalid-second-factor")

    right = await client.post(
        "/authentication/token", json=CREDENTIALS | {"code": code(secret, clock)}
    )
    assert right.status == 200
    assert "token" in await right.json()
    with_recovery = await client.post(
        "/authentication/token", json=CREDENTIALS | {"recoveryCode": codes[1]}
    )
    assert with_recovery.status == 200


async def test_a_password_reset_never_skips_the_second_factor(
    settings: MakeSettings, make_client: MakeClient, mailbox: Mailbox, clock: FakeClock
) -> None:
    client = await make_client(settings(**mailbox.settings()))
    secret, _ = await with_app(client, clock)
    value = await reset_token(client, mailbox)
    client.session.cookie_jar.clear()

    reset = await confirm(client, value)

    assert reset.status == 200
    assert (await reset.json())["secondFactorRequired"] is True
    assert COOKIE not in set_cookies(reset)
    assert (await client.get("/authentication")).status == 401
    done = await client.post(
        "/authentication/log-in/second-factor", json={"code": code(secret, clock)}
    )
    assert done.status == 200
    assert (await client.get("/authentication")).status == 200


async def test_what_matters_needs_a_recent_authentication_then_a_re_authentication_does(
    client: Client, clock: FakeClock
) -> None:
    await register(client)
    clock.advance(timedelta(minutes=10, seconds=1))
    change = {"currentPassword": CREDENTIALS["password"], "newPassword": "another passphrase"}

    refused = [
        await client.post("/authentication/change-password", json=change),
        await client.post("/authentication/totp"),
        await client.delete(
            "/authentication/account", json={"currentPassword": CREDENTIALS["password"]}
        ),
        await client.post(
            "/authentication/change-email",
            json={"currentPassword": CREDENTIALS["password"], "newEmail": "ada@example.org"},
        ),
    ]
    for response in refused:
        assert (response.status, await problem_type(response)) == (
            403,
            "reauthentication-required",
        )

    wrong = await client.post("/authentication/reauthenticate", json={"password": "wrong one!"})
    assert (wrong.status, await problem_type(wrong)) == (401, "wrong-password")
    again = await client.post(
        "/authentication/reauthenticate", json={"password": CREDENTIALS["password"]}
    )
    assert again.status == 204
    assert (await client.post("/authentication/change-password", json=change)).status == 204


async def test_an_account_with_the_app_re_authenticates_with_a_code(
    client: Client, clock: FakeClock
) -> None:
    secret, _ = await with_app(client, clock)
    clock.advance(timedelta(minutes=11))
    password = {"password": CREDENTIALS["password"]}

    refused = await client.post("/authentication/reauthenticate", json=password)
    assert (refused.status, await problem_type(refused)) == (401, "invalid-code")
    again = await client.post("/authentication/reauthenticate", json={"code": code(secret, clock)})
    assert again.status == 204
    assert (
        await client.post(
            "/authentication/recovery-codes", json={"currentPassword": CREDENTIALS["password"]}
        )
    ).status == 200


async def test_removing_the_app_needs_the_password_and_a_code(
    client: Client, clock: FakeClock
) -> None:
    secret, _ = await with_app(client, clock)
    right = {"currentPassword": CREDENTIALS["password"], "code": code(secret, clock)}

    wrong_password = await client.delete(
        "/authentication/totp", json=right | {"currentPassword": "wrong one!"}
    )
    wrong_code = await client.delete("/authentication/totp", json=right | {"code": "000000"})
    removed = await client.delete("/authentication/totp", json=right)
    again = await client.delete("/authentication/totp", json=right)

    assert (wrong_password.status, await problem_type(wrong_password)) == (401, "wrong-password")
    assert (wrong_code.status, await problem_type(wrong_code)) == (401, "invalid-code")
    assert removed.status == 204
    assert (again.status, await problem_type(again)) == (404, "factor-not-found")
    assert set_cookies(await pending_log_in(client)).get(COOKIE)  # a session at once


async def test_an_active_app_must_be_removed_before_another_is_set_up(
    client: Client, clock: FakeClock
) -> None:
    await with_app(client, clock)

    response = await client.post("/authentication/totp")

    assert (response.status, await problem_type(response)) == (409, "factor-conflict")


async def test_new_recovery_codes_void_the_old_ones(client: Client, clock: FakeClock) -> None:
    _, old = await with_app(client, clock)

    wrong = await client.post(
        "/authentication/recovery-codes", json={"currentPassword": "nope!!!!"}
    )
    response = await client.post(
        "/authentication/recovery-codes", json={"currentPassword": CREDENTIALS["password"]}
    )

    assert (wrong.status, await problem_type(wrong)) == (401, "wrong-password")
    new = (await response.json())["recoveryCodes"]
    assert len(new) == 10
    await pending_log_in(client)
    stale = await client.post("/authentication/log-in/second-factor", json={"recoveryCode": old[0]})
    assert stale.status == 401
    fresh = await client.post("/authentication/log-in/second-factor", json={"recoveryCode": new[0]})
    assert fresh.status == 200


async def test_recovery_codes_of_an_account_without_a_factor_are_refused(client: Client) -> None:
    await register(client)

    response = await client.post(
        "/authentication/recovery-codes", json={"currentPassword": CREDENTIALS["password"]}
    )

    assert (response.status, await problem_type(response)) == (404, "factor-not-found")


async def test_changing_the_session_secret_leaves_factors_working(
    settings: MakeSettings, make_client: MakeClient, clock: FakeClock
) -> None:
    before = await make_client(settings())
    secret, codes = await with_app(before, clock)

    after = await make_client(settings(session_secret=SESSION_SECRET[::-1] + "-rotated"))
    await pending_log_in(after)
    logged_in = await after.post(
        "/authentication/log-in/second-factor", json={"code": code(secret, clock)}
    )

    assert logged_in.status == 200
    await pending_log_in(after)
    recovered = await after.post(
        "/authentication/log-in/second-factor", json={"recoveryCode": codes[0]}
    )
    assert recovered.status == 200


async def test_the_app_is_unavailable_without_factor_keys_on_shared_stores(
    shared_settings: MakeSettings, make_client: MakeClient
) -> None:
    client = await make_client(shared_settings())
    await register(client)

    response = await client.post("/authentication/totp")

    assert (response.status, await problem_type(response)) == (503, "factor-keys-missing")


async def test_the_embedded_default_makes_a_factor_key_of_its_own(
    embedded_settings: MakeSettings, make_client: MakeClient, clock: FakeClock, tmp_path: Any
) -> None:
    from coatcheck.entrypoints.migrations import migrate_embedded

    settings = embedded_settings()
    await migrate_embedded(settings)
    client = await make_client(settings)

    secret, _ = await with_app(client, clock)

    key = tmp_path / "factor_key"
    assert len(base64.b64decode(key.read_bytes())) == 32
    assert key.stat().st_mode & 0o077 == 0
    await pending_log_in(client)
    done = await client.post(
        "/authentication/log-in/second-factor", json={"code": code(secret, clock)}
    )
    assert done.status == 200


async def test_the_session_list_shows_how_each_session_was_authenticated_and_when(
    client: Client, clock: FakeClock
) -> None:
    secret, _ = await with_app(client, clock)
    await pending_log_in(client)
    await client.post("/authentication/log-in/second-factor", json={"code": code(secret, clock)})

    sessions = await (await client.get("/authentication/sessions")).json()

    [mine] = [session for session in sessions if session["current"]]
    assert mine["methods"] == ["password", "totp"]
    assert mine["authenticatedAt"] == mine["createdAt"]
    assert {tuple(session["methods"]) for session in sessions} == {
        ("password",),
        ("password", "totp"),
    }
