"""The seed tutorial's flow over HTTP, on real PostgreSQL and Redis: register, who am I,
log out, log in, tokens; and the ways a ticket must never be accepted or adopted."""

from __future__ import annotations

import secrets

from aiohttp import ClientResponse

from tests.integration.conftest import CREDENTIALS, REGISTRATION, Client
from tests.integration.http import COOKIE, bearer, cookie, register, who_am_i_with


def ticket_of(response: ClientResponse) -> str:
    """The ticket a response's Set-Cookie hands out."""
    assert COOKIE in response.cookies, "expected a Set-Cookie for the session cookie"
    value = response.cookies[COOKIE].value
    assert value
    return value


def set_cookie_headers(response: ClientResponse) -> list[str]:
    return response.headers.getall("Set-Cookie", [])


async def test_register_answers_201_with_user_json_and_a_session_cookie(client: Client) -> None:
    response = await client.post("/authentication/register", json=REGISTRATION)

    assert response.status == 201
    body = await response.json()
    assert set(body) == {"id", "email", "name", "createdAt", "emailVerified"}
    assert body["email"] == REGISTRATION["email"]
    assert body["name"] == REGISTRATION["name"]
    text = await response.text()
    assert REGISTRATION["password"] not in text
    assert "$2b$" not in text
    assert "hash" not in text.lower()
    assert "password" not in text.lower()
    cookie = response.cookies[COOKIE]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == "/"


async def test_register_logs_the_user_in_without_a_second_call(client: Client) -> None:
    registered = await (await register(client)).json()

    response = await client.get("/authentication")

    assert response.status == 200
    assert await response.json() == registered


async def test_who_am_i_without_a_ticket_is_401_problem(client: Client) -> None:
    response = await client.get("/authentication")

    assert response.status == 401
    assert response.content_type == "application/problem+json"


async def test_log_out_clears_the_cookie_and_ends_the_session(client: Client) -> None:
    await register(client)
    assert (await client.get("/authentication")).status == 200

    response = await client.post("/authentication/log-out")

    assert response.status == 204
    cleared = [header for header in set_cookie_headers(response) if header.startswith(COOKIE)]
    assert len(cleared) == 1
    assert "Max-Age=0" in cleared[0]
    assert response.cookies[COOKIE].value == ""
    assert (await client.get("/authentication")).status == 401


async def test_replayed_ticket_after_log_out_is_rejected(client: Client) -> None:
    ticket = ticket_of(await register(client))
    assert (await who_am_i_with(client, ticket)).status == 200
    client.session.cookie_jar.clear()
    logged_out = await client.post("/authentication/log-out", headers=cookie(ticket))
    assert logged_out.status == 204

    replayed = await who_am_i_with(client, ticket)

    assert replayed.status == 401
    assert replayed.content_type == "application/problem+json"


async def test_each_log_in_issues_a_new_ticket(client: Client) -> None:
    registered = ticket_of(await register(client))

    first = await client.post("/authentication/log-in", json=CREDENTIALS)
    second = await client.post("/authentication/log-in", json=CREDENTIALS)

    assert first.status == second.status == 200
    tickets = {registered, ticket_of(first), ticket_of(second)}
    assert len(tickets) == 3
    assert (await who_am_i_with(client, ticket_of(second))).status == 200


async def test_log_in_answers_user_json_without_password(client: Client) -> None:
    registered = await (await register(client)).json()
    client.session.cookie_jar.clear()

    response = await client.post("/authentication/log-in", json=CREDENTIALS)

    assert response.status == 200
    assert await response.json() == registered
    assert REGISTRATION["password"] not in await response.text()


async def test_log_in_never_adopts_a_ticket_the_client_sent(client: Client) -> None:
    await register(client)
    client.session.cookie_jar.clear()
    forged = secrets.token_urlsafe(32)  # the shape of a real ticket, issued by no one

    response = await client.post("/authentication/log-in", json=CREDENTIALS, headers=cookie(forged))

    assert response.status == 200
    issued = ticket_of(response)
    assert issued != forged
    assert (await who_am_i_with(client, forged)).status == 401
    assert (await who_am_i_with(client, issued)).status == 200


async def test_log_in_with_a_ticket_ends_the_session_it_replaces(client: Client) -> None:
    old = ticket_of(await register(client))
    client.session.cookie_jar.clear()

    response = await client.post("/authentication/log-in", json=CREDENTIALS, headers=cookie(old))

    assert response.status == 200
    assert ticket_of(response) != old
    assert (await who_am_i_with(client, old)).status == 401


async def test_remember_me_makes_a_persistent_cookie(client: Client) -> None:
    await register(client)

    browser = await client.post("/authentication/log-in", json=CREDENTIALS)
    remembered = await client.post("/authentication/log-in", json=CREDENTIALS | {"remember": True})

    assert browser.cookies[COOKIE]["max-age"] == ""
    assert int(remembered.cookies[COOKIE]["max-age"]) > 29 * 24 * 60 * 60


async def test_duplicate_email_in_another_case_is_409_and_one_user(client: Client) -> None:
    await register(client)
    shouting = REGISTRATION | {"email": REGISTRATION["email"].upper(), "name": "Impostor"}

    response = await client.post("/authentication/register", json=shouting)

    assert response.status == 409
    assert response.content_type == "application/problem+json"
    problem = await response.json()
    assert problem["status"] == 409
    assert problem["type"].endswith("email-taken")
    assert COOKIE not in response.cookies
    client.session.cookie_jar.clear()
    logged_in = await client.post("/authentication/log-in", json=CREDENTIALS)
    assert (await logged_in.json())["name"] == REGISTRATION["name"]


async def test_wrong_password_and_unknown_email_get_identical_401s(client: Client) -> None:
    await register(client)
    client.session.cookie_jar.clear()

    wrong_password = await client.post(
        "/authentication/log-in", json=CREDENTIALS | {"password": "not the password"}
    )
    unknown_email = await client.post(
        "/authentication/log-in", json=CREDENTIALS | {"email": "nobody@example.com"}
    )

    assert wrong_password.status == unknown_email.status == 401
    assert wrong_password.content_type == unknown_email.content_type == "application/problem+json"
    assert await wrong_password.read() == await unknown_email.read()
    assert COOKIE not in wrong_password.cookies
    assert COOKIE not in unknown_email.cookies


async def test_token_answers_token_expiry_and_user_without_a_cookie(client: Client) -> None:
    registered = await (await register(client)).json()
    client.session.cookie_jar.clear()

    response = await client.post("/authentication/token", json=CREDENTIALS)

    assert response.status == 200
    body = await response.json()
    assert set(body) == {"token", "expiresAt", "user"}
    assert body["user"] == registered
    assert body["token"]
    assert body["expiresAt"].endswith("Z")
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


async def test_token_works_as_a_bearer_header_on_who_am_i(client: Client) -> None:
    registered = await (await register(client)).json()
    client.session.cookie_jar.clear()
    token = (await (await client.post("/authentication/token", json=CREDENTIALS)).json())["token"]

    response = await client.get("/authentication", headers=bearer(token))

    assert response.status == 200
    assert await response.json() == registered
    assert "Set-Cookie" not in response.headers


async def test_token_with_wrong_password_is_401(client: Client) -> None:
    await register(client)
    client.session.cookie_jar.clear()

    response = await client.post(
        "/authentication/token", json=CREDENTIALS | {"password": "not the password"}
    )

    assert response.status == 401
    assert response.content_type == "application/problem+json"
