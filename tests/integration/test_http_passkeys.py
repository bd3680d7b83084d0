"""Passkeys over HTTP, on PostgreSQL and Redis, with a software authenticator: register,
list, rename, remove; log in with one and no password, or as the second factor of a
password; re-authenticate with one; and every refusal, never a 500."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from aiohttp import ClientResponse

from coatcheck.adapters.clock import FakeClock
from tests.authenticator import SoftAuthenticator
from tests.integration.conftest import CREDENTIALS, Client, MakeClient, MakeSettings
from tests.integration.http import COOKIE, register, set_cookies

ORIGIN = "http://localhost:8000"
PENDING = COOKIE + "-pending"
BOB = {"email": "bob@example.com", "name": "Bob", "password": "correct horse"}


@pytest.fixture
async def client(shared_settings: MakeSettings, make_client: MakeClient) -> Client:
    return await make_client(shared_settings(public_base_url=ORIGIN))


async def problem_type(response: ClientResponse) -> str:
    assert response.content_type == "application/problem+json"
    return str((await response.json())["type"]).rpartition(":")[2]


async def registered(client: Client, authenticator: SoftAuthenticator) -> dict[str, Any]:
    """Register a passkey for whoever the client is logged in as: the 201 answer's body."""
    options = await (await client.post("/authentication/passkeys/options")).json()
    response = await client.post(
        "/authentication/passkeys",
        json={"credential": authenticator.create(options), "name": "Laptop"},
    )
    assert response.status == 201
    body: dict[str, Any] = await response.json()
    return body


async def ada_with_passkey(client: Client) -> SoftAuthenticator:
    await register(client)
    authenticator = SoftAuthenticator(ORIGIN)
    await registered(client, authenticator)
    return authenticator


async def log_in_options(client: Client) -> dict[str, Any]:
    client.session.cookie_jar.clear()
    response = await client.post("/authentication/passkey-log-in/options", json={})
    assert response.status == 200
    assert PENDING in set_cookies(response)
    options: dict[str, Any] = await response.json()
    return options


async def test_a_registered_passkey_is_listed_and_its_rp_requires_user_verification(
    client: Client,
) -> None:
    await register(client)
    options = await (await client.post("/authentication/passkeys/options")).json()
    assert options["rp"]["id"] == "localhost"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["authenticatorSelection"]["residentKey"] == "required"
    authenticator = SoftAuthenticator(ORIGIN)

    response = await client.post(
        "/authentication/passkeys",
        json={"credential": authenticator.create(options), "name": "Laptop"},
    )

    assert response.status == 201
    assert len((await response.json())["recoveryCodes"]) == 10  # the first factor
    [listed] = await (await client.get("/authentication/passkeys")).json()
    assert listed["name"] == "Laptop"
    assert listed["lastUsedAt"] is None


async def test_a_registration_without_user_verification_is_refused(client: Client) -> None:
    await register(client)
    options = await (await client.post("/authentication/passkeys/options")).json()
    credential = SoftAuthenticator(ORIGIN).create(options, verified=False)

    response = await client.post("/authentication/passkeys", json={"credential": credential})

    assert (response.status, await problem_type(response)) == (400, "passkey-refused")


async def test_a_registration_challenge_is_used_once(client: Client) -> None:
    await register(client)
    options = await (await client.post("/authentication/passkeys/options")).json()
    credential = SoftAuthenticator(ORIGIN).create(options)
    first = await client.post("/authentication/passkeys", json={"credential": credential})

    again = await client.post("/authentication/passkeys", json={"credential": credential})

    assert first.status == 201
    assert (again.status, await problem_type(again)) == (400, "passkey-refused")


async def test_an_expired_registration_challenge_is_refused(
    client: Client, clock: FakeClock
) -> None:
    await register(client)
    options = await (await client.post("/authentication/passkeys/options")).json()
    clock.advance(timedelta(minutes=5, seconds=1))

    credential = SoftAuthenticator(ORIGIN).create(options)
    response = await client.post("/authentication/passkeys", json={"credential": credential})

    assert (response.status, await problem_type(response)) == (400, "passkey-refused")


async def test_a_passkey_logs_in_with_no_password_as_both_factors(client: Client) -> None:
    authenticator = await ada_with_passkey(client)
    options = await log_in_options(client)
    assert options["allowCredentials"] == []  # discoverable: the authenticator chooses
    assert options["userVerification"] == "required"

    response = await client.post(
        "/authentication/passkey-log-in", json={"credential": authenticator.get(options)}
    )

    assert response.status == 200
    assert (await response.json())["email"] == "ada@example.com"
    cookies = set_cookies(response)
    assert cookies[COOKIE][""]
    assert cookies[PENDING]["max-age"] == "0"
    verify = await client.get("/authentication/verify")
    assert verify.headers["X-Auth-Methods"] == "passkey"
    [listed] = await (await client.get("/authentication/passkeys")).json()
    assert listed["lastUsedAt"] is not None


async def test_an_assertion_without_user_verification_is_refused(client: Client) -> None:
    authenticator = await ada_with_passkey(client)
    options = await log_in_options(client)

    response = await client.post(
        "/authentication/passkey-log-in",
        json={"credential": authenticator.get(options, verified=False)},
    )

    assert (response.status, await problem_type(response)) == (401, "invalid-passkey")
    assert (await client.get("/authentication")).status == 401


async def test_a_replayed_assertion_is_refused(client: Client) -> None:
    authenticator = await ada_with_passkey(client)
    options = await log_in_options(client)
    credential = authenticator.get(options)
    pending = client.session.cookie_jar.filter_cookies(client.make_url("/"))[PENDING].value
    assert (
        await client.post("/authentication/passkey-log-in", json={"credential": credential})
    ).status == 200

    client.session.cookie_jar.clear()
    again = await client.post(
        "/authentication/passkey-log-in",
        json={"credential": credential},
        headers={"Cookie": f"{PENDING}={pending}"},
    )
    other = await log_in_options(client)
    stale = await client.post(
        "/authentication/passkey-log-in", json={"credential": credential | {}}
    )

    assert (again.status, await problem_type(again)) == (401, "no-pending-log-in")
    assert other["challenge"] != options["challenge"]
    assert (stale.status, await problem_type(stale)) == (401, "invalid-passkey")


async def test_a_signature_counter_that_does_not_grow_is_refused(client: Client) -> None:
    authenticator = await ada_with_passkey(client)
    first = await log_in_options(client)
    await client.post(
        "/authentication/passkey-log-in", json={"credential": authenticator.get(first)}
    )

    cloned = await log_in_options(client)
    response = await client.post(
        "/authentication/passkey-log-in",
        json={"credential": authenticator.get(cloned, counts=False)},
    )

    assert (response.status, await problem_type(response)) == (401, "invalid-passkey")


async def test_an_expired_log_in_challenge_is_refused(client: Client, clock: FakeClock) -> None:
    authenticator = await ada_with_passkey(client)
    options = await log_in_options(client)
    clock.advance(timedelta(minutes=5, seconds=1))

    response = await client.post(
        "/authentication/passkey-log-in", json={"credential": authenticator.get(options)}
    )

    assert (response.status, await problem_type(response)) == (401, "no-pending-log-in")


async def test_an_unknown_or_malformed_credential_is_a_clear_refusal(client: Client) -> None:
    await ada_with_passkey(client)
    stranger = SoftAuthenticator(ORIGIN)

    unknown = await client.post(
        "/authentication/passkey-log-in",
        json={"credential": stranger.get(await log_in_options(client))},
    )
    await log_in_options(client)
    garbage = await client.post(
        "/authentication/passkey-log-in", json={"credential": {"id": "%%", "response": 1}}
    )
    not_an_object = await client.post("/authentication/passkey-log-in", json={"credential": 7})

    assert (unknown.status, await problem_type(unknown)) == (401, "invalid-passkey")
    assert (garbage.status, await problem_type(garbage)) == (401, "invalid-passkey")
    assert (not_an_object.status, await problem_type(not_an_object)) == (400, "invalid-request")


async def test_a_password_then_a_passkey_logs_in_recording_both(client: Client) -> None:
    authenticator = await ada_with_passkey(client)
    client.session.cookie_jar.clear()
    held = await client.post("/authentication/log-in", json=CREDENTIALS)
    assert (await held.json())["methods"] == ["passkey", "recovery-code"]
    options = await (await client.post("/authentication/log-in/second-factor/options")).json()
    assert len(options["allowCredentials"]) == 1

    response = await client.post(
        "/authentication/log-in/second-factor", json={"credential": authenticator.get(options)}
    )

    assert response.status == 200
    verify = await client.get("/authentication/verify")
    assert verify.headers["X-Auth-Methods"] == "password,passkey"


async def test_another_users_passkey_is_no_second_factor(
    client: Client, make_client: MakeClient, shared_settings: MakeSettings
) -> None:
    await ada_with_passkey(client)
    bob_client = await make_client(shared_settings(public_base_url=ORIGIN))
    assert (await bob_client.post("/authentication/register", json=BOB)).status == 201
    bobs = SoftAuthenticator(ORIGIN)
    await registered(bob_client, bobs)
    client.session.cookie_jar.clear()
    await client.post("/authentication/log-in", json=CREDENTIALS)
    options = await (await client.post("/authentication/log-in/second-factor/options")).json()

    response = await client.post(
        "/authentication/log-in/second-factor", json={"credential": bobs.get(options)}
    )

    assert (response.status, await problem_type(response)) == (401, "invalid-passkey")
    assert (await client.get("/authentication")).status == 401


async def test_a_passkey_is_renamed_and_removed_by_its_owner_only(
    client: Client, make_client: MakeClient, shared_settings: MakeSettings
) -> None:
    await ada_with_passkey(client)
    [mine] = await (await client.get("/authentication/passkeys")).json()
    bob_client = await make_client(shared_settings(public_base_url=ORIGIN))
    assert (await bob_client.post("/authentication/register", json=BOB)).status == 201
    path = f"/authentication/passkeys/{mine['id']}"

    by_bob = await bob_client.patch(path, json={"name": "Mine now"})
    removed_by_bob = await bob_client.delete(path)
    renamed = await client.patch(path, json={"name": "Work laptop"})
    [listed] = await (await client.get("/authentication/passkeys")).json()
    removed = await client.delete(path)
    nonsense = await client.delete("/authentication/passkeys/%25%25")

    assert (by_bob.status, await problem_type(by_bob)) == (404, "factor-not-found")
    assert removed_by_bob.status == 404
    assert renamed.status == 204
    assert listed["name"] == "Work laptop"
    assert removed.status == 204
    assert nonsense.status == 404
    factors = await (await client.get("/authentication/factors")).json()
    assert (factors["passkeys"], factors["recoveryCodes"]) == (0, 0)


@pytest.mark.parametrize("method", ["OPTIONS", "PATCH", "DELETE", "GET"])
async def test_the_options_path_allows_post_alone_not_the_methods_of_a_passkey_by_id(
    client: Client, method: str
) -> None:
    await ada_with_passkey(client)

    answer = await client.request(method, "/authentication/passkeys/options", json={})
    # A segment that merely starts so is a passkey's id (of none here).
    other = await client.delete("/authentication/passkeys/optionsX")

    assert answer.status == 405
    assert answer.headers["Allow"] == "POST"  # as the OpenAPI document lists that path
    assert (other.status, await problem_type(other)) == (404, "factor-not-found")


async def test_a_passkey_re_authenticates_a_session(client: Client, clock: FakeClock) -> None:
    authenticator = await ada_with_passkey(client)
    clock.advance(timedelta(minutes=11))
    [mine] = await (await client.get("/authentication/passkeys")).json()
    refused = await client.delete(f"/authentication/passkeys/{mine['id']}")
    assert (refused.status, await problem_type(refused)) == (403, "reauthentication-required")

    options = await (await client.post("/authentication/reauthenticate/options")).json()
    again = await client.post(
        "/authentication/reauthenticate", json={"credential": authenticator.get(options)}
    )

    assert again.status == 204
    assert (await client.delete(f"/authentication/passkeys/{mine['id']}")).status == 204
