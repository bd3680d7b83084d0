"""Two app instances on one PostgreSQL and one Redis: a session made on either works on both,
and whatever ends a session on one ends it on the other at once."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import CREDENTIALS, REGISTRATION, Client, MakeClient, MakeSettings
from tests.integration.http import COOKIE, bearer, cookie, status_with_ticket

NEW_PASSWORD = "tr0ub4dor & 3"


@pytest.fixture
async def instances(
    make_client: MakeClient, shared_settings: MakeSettings
) -> tuple[Client, Client]:
    settings = shared_settings()
    one, two = await make_client(settings), await make_client(settings)
    assert one.port != two.port
    return one, two


async def request(client: Client, method: str, path: str, ticket: str, **kwargs: Any) -> Any:
    """A request carrying exactly this ticket as its cookie (nothing from the jar)."""
    client.session.cookie_jar.clear()
    return await client.request(method, path, headers=cookie(ticket), **kwargs)


async def register(client: Client) -> str:
    response = await client.post("/authentication/register", json=REGISTRATION)
    assert response.status == 201
    client.session.cookie_jar.clear()
    return str(response.cookies[COOKIE].value)


async def log_in(client: Client, password: str = CREDENTIALS["password"]) -> str:
    client.session.cookie_jar.clear()
    response = await client.post(
        "/authentication/log-in", json=CREDENTIALS | {"password": password}
    )
    assert response.status == 200
    client.session.cookie_jar.clear()
    return str(response.cookies[COOKIE].value)


async def session_id(client: Client, ticket: str) -> str:
    listed = await (await request(client, "GET", "/authentication/sessions", ticket)).json()
    (mine,) = [item["id"] for item in listed if item["current"]]
    return str(mine)


async def test_a_session_made_on_one_instance_works_on_the_other(
    instances: tuple[Client, Client],
) -> None:
    one, two = instances
    registered = await register(one)
    logged_in = await log_in(two)

    assert await status_with_ticket(two, registered) == 200
    assert await status_with_ticket(one, logged_in) == 200


async def test_a_token_made_on_one_instance_works_on_the_other(
    instances: tuple[Client, Client],
) -> None:
    one, two = instances
    await register(one)
    token = (await (await one.post("/authentication/token", json=CREDENTIALS)).json())["token"]

    response = await two.get("/authentication", headers=bearer(token))

    assert response.status == 200


async def test_both_instances_list_the_same_sessions(instances: tuple[Client, Client]) -> None:
    one, two = instances
    first = await register(one)
    second = await log_in(two)

    on_one = await (await request(one, "GET", "/authentication/sessions", first)).json()
    on_two = await (await request(two, "GET", "/authentication/sessions", first)).json()

    assert len(on_one) == 2
    assert on_one == on_two
    assert second not in str(on_one)


async def test_a_log_out_on_one_instance_is_refused_at_once_on_the_other(
    instances: tuple[Client, Client],
) -> None:
    one, two = instances
    ticket = await register(one)
    assert await status_with_ticket(two, ticket) == 200

    logged_out = await request(one, "POST", "/authentication/log-out", ticket)

    assert logged_out.status == 204
    assert await status_with_ticket(two, ticket) == 401
    assert await status_with_ticket(one, ticket) == 401


async def test_a_revocation_on_one_instance_is_refused_at_once_on_the_other(
    instances: tuple[Client, Client],
) -> None:
    one, two = instances
    victim = await register(one)
    assert await status_with_ticket(one, victim) == 200
    owner = await log_in(two)

    revoked = await request(
        two, "DELETE", f"/authentication/sessions/{await session_id(one, victim)}", owner
    )

    assert revoked.status == 204
    assert await status_with_ticket(one, victim) == 401
    assert await status_with_ticket(two, victim) == 401
    assert await status_with_ticket(one, owner) == 200


async def test_revoking_the_others_on_one_instance_ends_them_on_the_other(
    instances: tuple[Client, Client],
) -> None:
    one, two = instances
    kept = await register(one)
    ended = [await log_in(two), await log_in(two)]

    response = await request(one, "DELETE", "/authentication/sessions", kept)

    assert response.status == 204
    assert [await status_with_ticket(two, ticket) for ticket in ended] == [401, 401]
    assert await status_with_ticket(two, kept) == 200


async def test_a_password_change_on_one_instance_ends_sessions_on_the_other(
    instances: tuple[Client, Client],
) -> None:
    one, two = instances
    caller = await register(one)
    elsewhere = await log_in(two)
    body = {"currentPassword": CREDENTIALS["password"], "newPassword": NEW_PASSWORD}

    changed = await request(one, "POST", "/authentication/change-password", caller, json=body)

    assert changed.status == 204
    rotated = changed.cookies[COOKIE].value
    assert await status_with_ticket(two, elsewhere) == 401
    assert await status_with_ticket(two, caller) == 401
    assert await status_with_ticket(two, rotated) == 200
    two.session.cookie_jar.clear()
    old = await two.post("/authentication/log-in", json=CREDENTIALS)
    assert old.status == 401
    assert await log_in(two, NEW_PASSWORD)
