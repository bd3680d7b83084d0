"""Sessions on a Redis Cluster (three primaries of the test run's own): the whole session
life over HTTP, shared by two app instances, throttled, revoked everywhere at once."""

from __future__ import annotations

import pytest

from coatcheck.adapters.clock import FakeClock
from tests.integration.conftest import CREDENTIALS, Client, MakeClient, MakeSettings
from tests.integration.http import bearer, register, status_with_token, token

NEW_PASSWORD = "a brand new password"


@pytest.fixture
async def instances(
    make_client: MakeClient,
    shared_settings: MakeSettings,
    redis_cluster_space: tuple[str, str],
    clock: FakeClock,
) -> tuple[Client, Client]:
    url, prefix = redis_cluster_space
    # The account's lock outlasts the test however slow the machine: at the default base
    # delay (1 s) a sixth guess made over a second after the fifth was let through.
    settings = shared_settings(
        redis_url=url, redis_cluster=True, redis_prefix=prefix, throttle_base_delay=60
    )
    return await make_client(settings), await make_client(settings)


async def test_a_session_made_on_one_instance_works_on_the_other(
    instances: tuple[Client, Client],
) -> None:
    one, other = instances
    await register(one)
    ticket = await token(one)
    assert await status_with_token(other, ticket) == 200


async def test_list_and_revoke_others_cover_every_session_across_the_cluster(
    instances: tuple[Client, Client],
) -> None:
    one, other = instances
    await register(one)
    tokens = [await token(one) for _ in range(5)]
    listed = await other.get("/authentication/sessions", headers=bearer(tokens[0]))
    assert len(await listed.json()) == 6  # the registration's cookie session, and five tokens
    revoked = await other.delete("/authentication/sessions", headers=bearer(tokens[0]))
    assert revoked.status == 204
    assert [await status_with_token(one, value) for value in tokens] == [200] + [401] * 4


async def test_log_out_on_one_instance_ends_the_session_on_the_other(
    instances: tuple[Client, Client],
) -> None:
    one, other = instances
    await register(one)
    ticket = await token(one)
    assert (await one.post("/authentication/log-out", headers=bearer(ticket))).status == 204
    assert await status_with_token(other, ticket) == 401


async def test_change_password_ends_every_old_session_across_the_cluster(
    instances: tuple[Client, Client],
) -> None:
    one, other = instances
    await register(one)
    old = [await token(one) for _ in range(3)]
    changed = await other.post(
        "/authentication/change-password",
        json={"currentPassword": CREDENTIALS["password"], "newPassword": NEW_PASSWORD},
        headers=bearer(old[0]),
    )
    assert changed.status == 200
    new = (await changed.json())["token"]
    assert [await status_with_token(one, value) for value in old] == [401] * 3
    assert await status_with_token(one, new) == 200


async def test_log_in_throttling_works_across_the_cluster(
    instances: tuple[Client, Client],
) -> None:
    one, other = instances
    await register(one)
    one.session.cookie_jar.clear()  # the guesses come from browsers that never logged in
    wrong = {**CREDENTIALS, "password": "not the password"}
    statuses = [
        (await client.post("/authentication/log-in", json=wrong)).status
        for client in (one, other) * 3
    ]
    assert statuses == [401] * 5 + [429]
