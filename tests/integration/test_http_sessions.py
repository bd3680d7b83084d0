"""Managing sessions over HTTP on real PostgreSQL and Redis: list, revoke one, revoke the
others, change the password, bearer tokens everywhere, the single-session policy."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import ClientResponse, ClientSession, CookieJar

from coatcheck.adapters.clock import FakeClock
from tests.integration.conftest import CREDENTIALS, REGISTRATION, Client, MakeClient, MakeSettings
from tests.integration.http import (
    COOKIE,
    bearer,
    cookie,
    status_with_ticket,
    status_with_token,
    token,
)

PASSWORD = REGISTRATION["password"]
NEW_PASSWORD = "tr0ub4dor & 3"
GRACE = {"email": "grace@example.com", "name": "Grace Hopper", "password": "cobol forever"}
EVIL = "https://evil.example"


class Browser:
    """One browser: its own cookie jar and user agent, against the app under test."""

    def __init__(self, client: Client, name: str) -> None:
        self.name = name
        self.http = ClientSession(
            base_url=client.make_url(""),
            cookie_jar=CookieJar(unsafe=True),
            headers={"User-Agent": name},
        )
        self.ticket = ""  # the last ticket handed to this browser (clearing keeps it known)

    async def request(self, method: str, path: str, **kwargs: Any) -> ClientResponse:
        response = await self.http.request(method, path, **kwargs)
        await response.read()
        if COOKIE in response.cookies and response.cookies[COOKIE].value:
            self.ticket = response.cookies[COOKIE].value
        return response

    async def register(self, body: dict[str, str] = REGISTRATION) -> None:
        assert (await self.request("POST", "/authentication/register", json=body)).status == 201

    async def log_in(self, credentials: dict[str, Any] = CREDENTIALS) -> None:
        response = await self.request("POST", "/authentication/log-in", json=credentials)
        assert response.status == 200

    async def who_am_i(self) -> int:
        return (await self.request("GET", "/authentication")).status

    async def sessions(self) -> list[dict[str, Any]]:
        response = await self.request("GET", "/authentication/sessions")
        assert response.status == 200
        listed: list[dict[str, Any]] = await response.json()
        return listed

    async def session_id(self) -> str:
        """The public id of this browser's own session."""
        (mine,) = [item["id"] for item in await self.sessions() if item["current"]]
        return str(mine)


OpenBrowser = Callable[[str], Browser]


@pytest.fixture
async def browser(client: Client) -> AsyncIterator[OpenBrowser]:
    """Opens browsers (separate cookie jars) on `client`'s app; closes them afterwards."""
    opened: list[Browser] = []

    def open_browser(name: str) -> Browser:
        opened.append(Browser(client, name))
        return opened[-1]

    yield open_browser
    for item in opened:
        await item.http.close()


async def token_for(client: Client) -> str:
    """A new token, asked for with nothing from the cookie jar."""
    client.session.cookie_jar.clear()
    return await token(client)


async def three_browsers(open_browser: OpenBrowser, clock: FakeClock) -> list[Browser]:
    """Ada registered in the first and logged in to the other two, a second apart."""
    browsers = [open_browser(name) for name in ("Browser A", "Browser B", "Browser C")]
    await browsers[0].register()
    for item in browsers[1:]:
        clock.advance(timedelta(seconds=1))
        await item.log_in()
    return browsers


# --- listing --------------------------------------------------------------------------------


async def test_session_list_holds_exactly_the_live_sessions_newest_first_current_marked(
    browser: OpenBrowser, clock: FakeClock
) -> None:
    a, b, c = await three_browsers(browser, clock)
    d = browser("Browser D")
    clock.advance(timedelta(seconds=1))
    await d.log_in()
    assert (await d.request("POST", "/authentication/log-out")).status == 204

    response = await b.request("GET", "/authentication/sessions")

    assert response.status == 200
    listed = await response.json()
    assert [item["userAgent"] for item in listed] == ["Browser C", "Browser B", "Browser A"]
    assert [item["current"] for item in listed] == [False, True, False]
    assert [item["createdAt"] for item in listed] == sorted(
        (item["createdAt"] for item in listed), reverse=True
    )
    assert len({item["id"] for item in listed}) == 3
    assert {item["kind"] for item in listed} == {"browser"}
    assert {item["ipAddress"] for item in listed} == {"127.0.0.1"}
    assert set(listed[0]) == {
        "id",
        "kind",
        "createdAt",
        "lastSeenAt",
        "expiresAt",
        "userAgent",
        "device",
        "ipAddress",
        "current",
        "methods",
        "authenticatedAt",
    }
    assert {tuple(item["methods"]) for item in listed} == {("password",)}
    assert response.headers["Cache-Control"] == "no-store"
    text = await response.text()
    for ticket in (a.ticket, b.ticket, c.ticket, d.ticket):
        assert ticket
        assert ticket not in text


async def test_tokens_appear_in_the_session_list_as_kind_token(
    client: Client, browser: OpenBrowser, clock: FakeClock
) -> None:
    ada = browser("Browser A")
    await ada.register()
    clock.advance(timedelta(seconds=1))
    token = await token_for(client)
    clock.advance(timedelta(seconds=1))
    remembered = browser("Browser R")
    await remembered.log_in(CREDENTIALS | {"remember": True})

    response = await ada.request("GET", "/authentication/sessions")

    listed = await response.json()
    assert [item["kind"] for item in listed] == ["remembered", "token", "browser"]
    assert token not in await response.text()


async def test_session_list_without_a_ticket_is_401(client: Client) -> None:
    response = await client.get("/authentication/sessions")

    assert response.status == 401
    assert response.content_type == "application/problem+json"


# --- revoking -------------------------------------------------------------------------------


async def test_revoking_one_session_ends_exactly_that_one_at_once(
    browser: OpenBrowser, clock: FakeClock
) -> None:
    a, b, c = await three_browsers(browser, clock)
    b_id = await b.session_id()

    response = await a.request("DELETE", f"/authentication/sessions/{b_id}")

    assert response.status == 204
    assert await b.who_am_i() == 401
    assert await a.who_am_i() == 200
    assert await c.who_am_i() == 200
    assert b_id not in {item["id"] for item in await a.sessions()}
    assert len(await a.sessions()) == 2


async def test_revoking_ones_own_session_logs_out_and_clears_the_cookie(
    browser: OpenBrowser, clock: FakeClock
) -> None:
    a, b, _ = await three_browsers(browser, clock)
    ticket = a.ticket

    response = await a.request("DELETE", f"/authentication/sessions/{await a.session_id()}")

    assert response.status == 204
    assert response.cookies[COOKIE]["max-age"] == "0"
    assert await a.who_am_i() == 401
    a.http.cookie_jar.clear()
    replay = await a.request("GET", "/authentication", headers=cookie(ticket))
    assert replay.status == 401
    assert await b.who_am_i() == 200


async def test_another_users_sessions_can_be_neither_seen_nor_revoked(
    browser: OpenBrowser, clock: FakeClock
) -> None:
    a, b, _ = await three_browsers(browser, clock)
    ada_ids = {item["id"] for item in await a.sessions()}
    grace = browser("Grace")
    await grace.register(GRACE)

    listed = await grace.sessions()
    foreign = await grace.request("DELETE", f"/authentication/sessions/{await b.session_id()}")
    nonexistent = await grace.request("DELETE", "/authentication/sessions/no-such-session-id")

    assert len(listed) == 1
    assert not ada_ids & {item["id"] for item in listed}
    assert foreign.status == nonexistent.status == 404
    assert foreign.content_type == "application/problem+json"
    assert await foreign.read() == await nonexistent.read()
    assert await b.who_am_i() == 200
    assert {item["id"] for item in await a.sessions()} == ada_ids


async def test_revoking_the_other_sessions_keeps_only_the_caller(
    client: Client, browser: OpenBrowser, clock: FakeClock
) -> None:
    a, b, c = await three_browsers(browser, clock)
    token = await token_for(client)

    response = await b.request("DELETE", "/authentication/sessions")

    assert response.status == 204
    assert await b.who_am_i() == 200
    assert await a.who_am_i() == 401
    assert await c.who_am_i() == 401
    assert await status_with_token(client, token) == 401
    listed = await b.sessions()
    assert len(listed) == 1
    assert listed[0]["current"] is True


async def test_revoking_needs_a_ticket(client: Client) -> None:
    assert (await client.delete("/authentication/sessions")).status == 401
    assert (await client.delete("/authentication/sessions/anything")).status == 401


# --- changing the password ------------------------------------------------------------------


async def test_change_password_with_a_wrong_current_password_changes_nothing(
    client: Client, browser: OpenBrowser, clock: FakeClock
) -> None:
    a, b, _ = await three_browsers(browser, clock)
    ticket = a.ticket

    response = await a.request(
        "POST",
        "/authentication/change-password",
        json={"currentPassword": "not the password", "newPassword": NEW_PASSWORD},
    )

    assert response.status == 401
    assert response.content_type == "application/problem+json"
    assert (await response.json())["type"].endswith("wrong-password")
    assert a.ticket == ticket
    assert await a.who_am_i() == 200
    assert await b.who_am_i() == 200
    assert await status_with_ticket(client, ticket) == 200
    old = await client.post("/authentication/log-in", json=CREDENTIALS)
    assert old.status == 200
    client.session.cookie_jar.clear()
    new = await client.post("/authentication/log-in", json=CREDENTIALS | {"password": NEW_PASSWORD})
    assert new.status == 401


async def test_change_password_ends_every_old_session_and_rotates_the_callers(
    client: Client, browser: OpenBrowser, clock: FakeClock
) -> None:
    a, b, c = await three_browsers(browser, clock)
    token = await token_for(client)
    old_ticket = a.ticket

    response = await a.request(
        "POST",
        "/authentication/change-password",
        json={"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD},
    )

    assert response.status == 204
    assert a.ticket != old_ticket
    assert await a.who_am_i() == 200
    assert await status_with_ticket(client, old_ticket) == 401
    assert await b.who_am_i() == 401
    assert await c.who_am_i() == 401
    assert await status_with_token(client, token) == 401
    assert len(await a.sessions()) == 1
    client.session.cookie_jar.clear()
    old = await client.post("/authentication/log-in", json=CREDENTIALS)
    assert old.status == 401
    client.session.cookie_jar.clear()
    new = await client.post("/authentication/log-in", json=CREDENTIALS | {"password": NEW_PASSWORD})
    assert new.status == 200


async def test_change_password_for_a_bearer_caller_answers_a_new_token(client: Client) -> None:
    await client.post("/authentication/register", json=REGISTRATION)
    old_token = await token_for(client)

    response = await client.post(
        "/authentication/change-password",
        json={"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD},
        headers=bearer(old_token),
    )

    assert response.status == 200
    body = await response.json()
    assert set(body) == {"token", "expiresAt", "user"}
    assert body["user"]["email"] == REGISTRATION["email"]
    assert body["token"] != old_token
    assert "Set-Cookie" not in response.headers
    assert await status_with_token(client, old_token) == 401
    assert await status_with_token(client, body["token"]) == 200
    listed = await client.get("/authentication/sessions", headers=bearer(body["token"]))
    assert [item["kind"] for item in await listed.json()] == ["token"]


# --- bearer tokens on every authenticated route ---------------------------------------------


async def test_a_bearer_token_answers_who_am_i(client: Client) -> None:
    registered = await (await client.post("/authentication/register", json=REGISTRATION)).json()
    token = await token_for(client)

    response = await client.get("/authentication", headers=bearer(token))

    assert response.status == 200
    assert await response.json() == registered


async def test_a_bearer_token_lists_sessions_marking_itself_current(
    client: Client, clock: FakeClock
) -> None:
    await client.post("/authentication/register", json=REGISTRATION)
    clock.advance(timedelta(seconds=1))
    token = await token_for(client)

    response = await client.get("/authentication/sessions", headers=bearer(token))

    assert response.status == 200
    listed = await response.json()
    assert [(item["kind"], item["current"]) for item in listed] == [
        ("token", True),
        ("browser", False),
    ]
    assert token not in await response.text()
    assert "Set-Cookie" not in response.headers


async def test_a_bearer_token_revokes_one_session(client: Client, clock: FakeClock) -> None:
    await client.post("/authentication/register", json=REGISTRATION)
    clock.advance(timedelta(seconds=1))
    mine, other = await token_for(client), await token_for(client)
    listed = await (await client.get("/authentication/sessions", headers=bearer(other))).json()
    (other_id,) = [item["id"] for item in listed if item["current"]]

    response = await client.delete(f"/authentication/sessions/{other_id}", headers=bearer(mine))

    assert response.status == 204
    assert await status_with_token(client, other) == 401
    assert await status_with_token(client, mine) == 200


async def test_a_bearer_token_revokes_the_other_sessions(client: Client) -> None:
    await client.post("/authentication/register", json=REGISTRATION)
    cookie_ticket = client.session.cookie_jar.filter_cookies(client.make_url("/"))[COOKIE].value
    mine, other = await token_for(client), await token_for(client)

    response = await client.delete("/authentication/sessions", headers=bearer(mine))

    assert response.status == 204
    assert await status_with_token(client, mine) == 200
    assert await status_with_token(client, other) == 401
    assert await status_with_ticket(client, cookie_ticket) == 401


async def test_a_bearer_token_logs_out_without_a_cookie(client: Client) -> None:
    await client.post("/authentication/register", json=REGISTRATION)
    token = await token_for(client)

    response = await client.post("/authentication/log-out", headers=bearer(token))

    assert response.status == 204
    assert "Set-Cookie" not in response.headers
    assert await status_with_token(client, token) == 401


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/authentication/log-out", None, 204),
        ("DELETE", "/authentication/sessions", None, 204),
        (
            "POST",
            "/authentication/change-password",
            {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD},
            200,
        ),
    ],
    ids=["log-out", "revoke-others", "change-password"],
)
async def test_a_bearer_request_is_exempt_from_the_origin_check(
    client: Client, method: str, path: str, body: dict[str, str] | None, status: int
) -> None:
    await client.post("/authentication/register", json=REGISTRATION)
    token = await token_for(client)

    response = await client.request(method, path, json=body, headers=bearer(token, Origin=EVIL))

    assert response.status == status


async def test_a_cookie_request_from_another_origin_is_403_and_changes_nothing(
    browser: OpenBrowser, clock: FakeClock
) -> None:
    a, b, _ = await three_browsers(browser, clock)

    response = await a.request("DELETE", "/authentication/sessions", headers={"Origin": EVIL})

    assert response.status == 403
    assert response.content_type == "application/problem+json"
    assert await b.who_am_i() == 200


# --- single-session policy ------------------------------------------------------------------


async def test_under_single_session_a_new_log_in_ends_the_older_session(
    make_client: MakeClient, shared_settings: MakeSettings, clock: FakeClock
) -> None:
    client = await make_client(shared_settings(single_session=True))
    registered = await client.post("/authentication/register", json=REGISTRATION)
    old_ticket = registered.cookies[COOKIE].value
    client.session.cookie_jar.clear()
    clock.advance(timedelta(seconds=1))

    logged_in = await client.post("/authentication/log-in", json=CREDENTIALS)

    assert logged_in.status == 200
    new_ticket = logged_in.cookies[COOKIE].value
    assert await status_with_ticket(client, old_ticket) == 401
    assert await status_with_ticket(client, new_ticket) == 200
    token = await token_for(client)
    assert await status_with_ticket(client, new_ticket) == 401
    assert await status_with_token(client, token) == 200
