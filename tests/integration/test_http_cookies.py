"""The session cookie as a browser receives it (read from the raw Set-Cookie headers), what
clears it, what keeps responses that carry it out of caches, and what is never a ticket."""

from __future__ import annotations

import base64
import json
import re
from datetime import timedelta

import aiohttp
import ormsgpack
import pytest
import redis.asyncio as redis
from aiohttp import ClientResponse

from coatcheck.adapters.clock import FakeClock
from coatcheck.entrypoints.http.tickets import LEGACY_CUTOFF
from coatcheck.entrypoints.settings import Settings
from tests.integration.conftest import CREDENTIALS, Client, MakeClient, MakeSettings
from tests.integration.http import COOKIE, bearer, register, set_cookies, token

REMEMBER_IDLE_TIMEOUT = 30 * 24 * 60 * 60  # the default
UNKNOWN_TICKET = "A" * 43  # the shape of a ticket, issued by no one
HOST_COOKIE = "__Host-" + COOKIE  # the name whenever the cookie is Secure, by default


def the_cookie(response: ClientResponse, name: str = COOKIE) -> dict[str, str]:
    """The session cookie the response sets; it sets no other but the device cookie."""
    cookies = set_cookies(response)
    assert name in cookies
    assert set(cookies) <= {name, name + "-device"}
    return cookies[name]


def assert_cleared(response: ClientResponse, name: str = COOKIE) -> None:
    cookie = the_cookie(response, name)
    assert cookie[""] == ""
    assert cookie["max-age"] == "0"
    assert response.headers["Cache-Control"] == "no-store"


async def test_remember_me_cookie_lasts_the_remember_idle_timeout(client: Client) -> None:
    await register(client)

    response = await client.post("/authentication/log-in", json=CREDENTIALS | {"remember": True})

    assert response.status == 200
    assert abs(int(the_cookie(response)["max-age"]) - REMEMBER_IDLE_TIMEOUT) <= 2


async def test_cookie_without_remember_me_dies_with_the_browser(client: Client) -> None:
    registered = await register(client)
    logged_in = await client.post("/authentication/log-in", json=CREDENTIALS)

    for response in (registered, logged_in):
        cookie = the_cookie(response)
        assert "max-age" not in cookie
        assert "expires" not in cookie


async def test_cookie_is_secure_by_default_also_when_cleared(
    make_client: MakeClient, shared_settings: MakeSettings
) -> None:
    assert Settings.model_fields["cookie_secure"].default is True
    client = await make_client(shared_settings(cookie_secure=True))
    registered = await register(client)
    ticket = the_cookie(registered, HOST_COOKIE)[""]
    remembered = await client.post("/authentication/log-in", json=CREDENTIALS | {"remember": True})
    logged_out = await client.post("/authentication/log-out", cookies={HOST_COOKIE: ticket})

    for response in (registered, remembered, logged_out):
        assert "secure" in the_cookie(response, HOST_COOKIE)


async def test_cookie_is_not_secure_when_turned_off_for_plain_http(client: Client) -> None:
    assert "secure" not in the_cookie(await register(client))


async def test_cookie_is_http_only_same_site_lax_and_for_the_whole_site(client: Client) -> None:
    registered = await register(client)
    remembered = await client.post("/authentication/log-in", json=CREDENTIALS | {"remember": True})
    logged_out = await client.post("/authentication/log-out")

    for response in (registered, remembered, logged_out):
        cookie = the_cookie(response)
        assert "httponly" in cookie
        assert cookie["samesite"] == "Lax"
        assert cookie["path"] == "/"
        assert "domain" not in cookie


async def test_cookie_is_same_site_strict_when_configured(
    make_client: MakeClient, shared_settings: MakeSettings
) -> None:
    client = await make_client(shared_settings(cookie_samesite="Strict"))

    assert the_cookie(await register(client))["samesite"] == "Strict"
    assert the_cookie(await client.post("/authentication/log-out"))["samesite"] == "Strict"


async def test_host_prefix_names_the_cookie_host_only_secure_and_site_wide(
    make_client: MakeClient, shared_settings: MakeSettings
) -> None:
    name = "__Host-coatcheck"
    client = await make_client(shared_settings(cookie_secure=True, cookie_host_prefix=True))

    registered = await register(client)
    cookie = the_cookie(registered, name)
    assert "secure" in cookie
    assert cookie["path"] == "/"
    assert "domain" not in cookie

    ticket = cookie[""]
    assert (await client.get("/authentication", cookies={name: ticket})).status == 200
    logged_out = await client.post("/authentication/log-out", cookies={name: ticket})
    assert_cleared(logged_out, name)
    assert "secure" in the_cookie(logged_out, name)  # else a browser keeps the old one
    assert (await client.get("/authentication", cookies={name: ticket})).status == 401


async def test_log_out_clears_the_cookie(client: Client) -> None:
    await register(client)

    response = await client.post("/authentication/log-out")

    assert response.status == 204
    assert_cleared(response)
    assert (await client.get("/authentication")).status == 401


async def test_revoking_ones_own_session_clears_the_cookie_and_revoking_the_others_does_not(
    client: Client,
) -> None:
    await register(client)

    others = await client.delete("/authentication/sessions")
    sessions = await (await client.get("/authentication/sessions")).json()
    (own,) = [session["id"] for session in sessions if session["current"]]
    revoked = await client.delete(f"/authentication/sessions/{own}")

    assert others.status == 204
    assert "Set-Cookie" not in others.headers
    assert revoked.status == 204
    assert_cleared(revoked)
    assert (await client.get("/authentication")).status == 401


async def rejected_ticket(client: Client, clock: FakeClock, reason: str) -> str:
    """A ticket the service refuses, for the given reason."""
    if reason == "unknown":
        return UNKNOWN_TICKET
    if reason == "malformed":
        return "not-a-ticket"
    ticket = the_cookie(await register(client))[""]
    client.session.cookie_jar.clear()
    if reason == "logged-out":
        await client.post("/authentication/log-out", cookies={COOKIE: ticket})
    elif reason == "revoked":
        response = await client.delete(
            "/authentication/sessions", headers=bearer(await token(client))
        )
        assert response.status == 204
    elif reason == "expired":
        clock.advance(timedelta(hours=13))
    return ticket


REJECTED_ON = [
    ("GET", "/authentication"),
    ("GET", "/authentication/sessions"),
    ("DELETE", "/authentication/sessions"),
    ("DELETE", "/authentication/sessions/some-id"),
    ("POST", "/authentication/change-password"),
]


@pytest.mark.parametrize("reason", ["unknown", "malformed", "logged-out", "revoked", "expired"])
async def test_every_rejected_ticket_clears_the_cookie(
    client: Client, clock: FakeClock, reason: str
) -> None:
    ticket = await rejected_ticket(client, clock, reason)

    for method, path in REJECTED_ON:
        body = {"currentPassword": "correct horse", "newPassword": "another horse"}
        response = await client.request(method, path, cookies={COOKIE: ticket}, json=body)
        assert response.status == 401, (method, path)
        assert response.content_type == "application/problem+json"
        assert_cleared(response)


async def test_a_request_without_a_cookie_is_refused_without_a_set_cookie(client: Client) -> None:
    response = await client.get("/authentication")

    assert response.status == 401
    assert "Set-Cookie" not in response.headers


async def test_every_response_that_sets_or_clears_the_cookie_is_not_stored(
    client: Client, clock: FakeClock
) -> None:
    responses = {"register": await register(client)}
    responses["log-in"] = await client.post("/authentication/log-in", json=CREDENTIALS)
    responses["remember"] = await client.post(
        "/authentication/log-in", json=CREDENTIALS | {"remember": True}
    )
    clock.advance(timedelta(seconds=61))
    responses["renewal"] = await client.get("/authentication")
    responses["change-password"] = await client.post(
        "/authentication/change-password",
        json={"currentPassword": "correct horse", "newPassword": "another horse"},
    )
    sessions = await (await client.get("/authentication/sessions")).json()
    (own,) = [session["id"] for session in sessions if session["current"]]
    responses["revoke-own"] = await client.delete(f"/authentication/sessions/{own}")
    responses["rejected"] = await client.get("/authentication", cookies={COOKIE: UNKNOWN_TICKET})
    again = await client.post(
        "/authentication/log-in", json=CREDENTIALS | {"password": "another horse"}
    )
    assert again.status == 200
    responses["log-out"] = await client.post("/authentication/log-out")

    for what, response in responses.items():
        assert response.status < 500, what
        assert COOKIE in set_cookies(response), what
        assert response.headers.get("Cache-Control") == "no-store", what


async def test_token_response_is_not_stored_and_sets_no_cookie(client: Client) -> None:
    await register(client)
    client.session.cookie_jar.clear()

    response = await client.post("/authentication/token", json=CREDENTIALS)

    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


async def test_bearer_authenticated_requests_never_get_a_set_cookie(
    client: Client, clock: FakeClock
) -> None:
    await register(client)  # the client also holds a cookie, which bearer requests ignore
    headers = bearer(await token(client))
    new_password = {"currentPassword": "correct horse", "newPassword": "another horse"}

    responses = [await client.get("/authentication", headers=headers)]
    clock.advance(timedelta(seconds=61))
    responses.append(await client.get("/authentication", headers=headers))  # renewed
    responses.append(await client.get("/authentication/sessions", headers=headers))
    changed = await client.post(
        "/authentication/change-password", headers=headers, json=new_password
    )
    responses.append(changed)
    old_headers, headers = headers, bearer((await changed.json())["token"])
    responses.append(await client.get("/authentication", headers=old_headers))  # rejected
    responses.append(await client.delete("/authentication/sessions", headers=headers))
    responses.append(await client.post("/authentication/log-out", headers=headers))
    responses.append(await client.get("/authentication", headers=headers))  # rejected

    assert [response.status for response in responses] == [200, 200, 200, 200, 401, 204, 204, 401]
    for response in responses:
        assert "Set-Cookie" not in response.headers


def segments(text: str) -> set[str]:
    """A stored string, its colon-separated parts, its URL-safe runs, and, when it is a JSON
    document, every key and value inside it with their own parts."""
    found = {text, *text.split(":"), *re.split(r"[^A-Za-z0-9_-]+", text)}
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    pending = [document] if isinstance(document, dict | list) else []
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        else:
            value = str(item)
            found |= {value, *value.split(":"), *re.split(r"[^A-Za-z0-9_-]+", value)}
    return {part for part in found if part}


def readings(value: bytes) -> set[str]:
    """Every way a stored byte string could be read as text: as UTF-8 (what will decode),
    as hex and as URL-safe base64, and, for a compact session record, each of its fields."""
    found = {value.decode(errors="ignore"), value.hex(), base64.urlsafe_b64encode(value).decode()}
    try:
        fields = ormsgpack.unpackb(value)
    except ormsgpack.MsgpackDecodeError:
        fields = None
    if isinstance(fields, list):
        for field in fields:
            found |= readings(field) if isinstance(field, bytes) else {str(field)}
    return found


async def stored_strings(url: str, prefix: str) -> set[str]:
    """Every key name under the prefix and every value stored under them, read every way."""
    raw = redis.Redis.from_url(url)
    strings: set[str] = set()
    try:
        async for key in raw.scan_iter(match=prefix.encode() + b"*"):
            strings |= readings(key.removeprefix(prefix.encode()))
            kind = (await raw.type(key)).decode()
            if kind == "string":
                strings |= readings(await raw.get(key))
            elif kind == "zset":
                for member, score in await raw.zrange(key, 0, -1, withscores=True):
                    strings |= {*readings(member), str(int(score))}
            elif kind == "hash":
                for field, value in (await raw.hgetall(key)).items():
                    strings |= {*readings(field), *readings(value)}
            else:
                pytest.fail(f"unexpected Redis type {kind}")
    finally:
        await raw.aclose()
    return strings


async def test_nothing_read_out_of_redis_works_as_a_ticket(
    client: Client, redis_space: tuple[str, str]
) -> None:
    ticket = the_cookie(await register(client))[""]
    await client.post("/authentication/log-in", json=CREDENTIALS | {"password": "wrong horse"})
    await client.post("/authentication/log-in", json=CREDENTIALS | {"remember": True})
    bearer_token = await token(client)
    client.session.cookie_jar.clear()
    assert (await client.get("/authentication", headers=bearer(bearer_token))).status == 200

    candidates: set[str] = set()
    for stored in await stored_strings(*redis_space):
        candidates |= segments(stored)
    assert ticket not in candidates
    assert bearer_token not in candidates
    assert len(candidates) > 10  # sessions, their index and the throttle counters were read

    sendable = {text for text in candidates if text.isascii() and text.isprintable()}
    for candidate in sorted(sendable):
        as_cookie = await client.get("/authentication", cookies={COOKIE: candidate})
        as_bearer = await client.get("/authentication", headers=bearer(candidate))
        assert (as_cookie.status, as_bearer.status) == (401, 401), candidate


async def test_a_log_in_gives_the_browser_a_device_cookie_of_its_own(client: Client) -> None:
    await register(client)
    client.session.cookie_jar.clear()

    logged_in = await client.post("/authentication/log-in", json=CREDENTIALS)

    device = set_cookies(logged_in)[COOKIE + "-device"]
    assert device[""] not in (logged_in.cookies[COOKIE].value, "")
    assert device["max-age"] == str(90 * 24 * 60 * 60)
    assert {"httponly", "path", "samesite"} <= set(device)
    assert device["path"] == "/"
    assert device["samesite"] == "Lax"
    assert "secure" not in device  # as the session cookie, whose Secure is off in these tests
    failed = await client.post("/authentication/log-in", json=CREDENTIALS | {"password": "x" * 8})
    assert "Set-Cookie" not in failed.headers


async def test_a_secure_cookie_is_named_with_the_host_prefix_by_default(
    make_client: MakeClient, shared_settings: MakeSettings
) -> None:
    client = await make_client(shared_settings(cookie_secure=True))

    registered = await register(client)

    assert set(set_cookies(registered)) == {HOST_COOKIE, HOST_COOKIE + "-device"}
    for cookie in set_cookies(registered).values():
        assert "secure" in cookie
        assert cookie["path"] == "/"
        assert "domain" not in cookie
    ticket = the_cookie(registered, HOST_COOKIE)[""]
    assert (await client.get("/authentication", cookies={HOST_COOKIE: ticket})).status == 200


async def before_the_upgrade(
    make_client: MakeClient, shared_settings: MakeSettings, clock: FakeClock, **login: bool
) -> str:
    """A session made by a release whose cookie had no prefix; its ticket. The clock then
    moves on, and the new release starts."""
    old = await make_client(shared_settings(cookie_secure=True, cookie_host_prefix=False))
    await register(old)
    logged_in = await old.post("/authentication/log-in", json=CREDENTIALS | login)
    clock.advance(timedelta(seconds=5))
    return the_cookie(logged_in)[""]


async def test_an_upgrade_keeps_a_cookie_under_the_old_name_and_answers_with_the_new_one(
    make_client: MakeClient, shared_settings: MakeSettings, clock: FakeClock
) -> None:
    ticket = await before_the_upgrade(make_client, shared_settings, clock, remember=True)
    new = await make_client(shared_settings(cookie_secure=True))

    answer = await new.get("/authentication", cookies={COOKIE: ticket})

    assert answer.status == 200
    cookies = set_cookies(answer)
    assert cookies[HOST_COOKIE][""] == ticket  # the same session, under the new name
    assert "secure" in cookies[HOST_COOKIE]
    assert cookies[HOST_COOKIE]["max-age"] == str(REMEMBER_IDLE_TIMEOUT)  # still remembered
    assert cookies[COOKIE][""] == ""
    assert cookies[COOKIE]["max-age"] == "0"  # the old one goes
    again = await new.get("/authentication", cookies={HOST_COOKIE: ticket})
    assert again.status == 200
    assert "Set-Cookie" not in again.headers


async def test_a_browser_session_cookie_under_the_old_name_stays_a_browser_session_cookie(
    make_client: MakeClient, shared_settings: MakeSettings, clock: FakeClock
) -> None:
    ticket = await before_the_upgrade(make_client, shared_settings, clock)
    new = await make_client(shared_settings(cookie_secure=True))

    answer = await new.get("/authentication/sessions", cookies={COOKIE: ticket})

    assert answer.status == 200
    assert "max-age" not in set_cookies(answer)[HOST_COOKIE]


async def test_a_cookie_under_the_old_name_for_a_session_made_since_is_refused(
    make_client: MakeClient, shared_settings: MakeSettings, clock: FakeClock
) -> None:
    """Only the previous release handed out cookies under the old name: a sibling site
    that plants one with a ticket of its own (made since) gets no __Host- cookie out of it."""
    new = await make_client(shared_settings(cookie_secure=True))
    clock.advance(timedelta(seconds=5))
    await register(new)
    attackers = await new.post("/authentication/log-in", json=CREDENTIALS)
    ticket = the_cookie(attackers, HOST_COOKIE)[""]
    new.session.cookie_jar.clear()

    answer = await new.get("/authentication", cookies={COOKIE: ticket})

    assert answer.status == 401
    assert HOST_COOKIE not in set_cookies(answer) or set_cookies(answer)[HOST_COOKIE][""] == ""
    assert_cleared(answer, COOKIE)


async def test_the_events_socket_refuses_a_cookie_under_the_old_name_for_a_session_made_since(
    make_client: MakeClient, shared_settings: MakeSettings, clock: FakeClock
) -> None:
    """The events socket reads the ticket itself (it never renews a session): a cookie planted
    under the old name since the prefix (by a sibling site) opens no socket there either,
    while one the previous release handed out still does."""
    before = await before_the_upgrade(make_client, shared_settings, clock)
    new = await make_client(shared_settings(cookie_secure=True))
    await new.app[LEGACY_CUTOFF].moment()
    clock.advance(timedelta(seconds=5))
    since = await new.post("/authentication/log-in", json=CREDENTIALS)
    planted = the_cookie(since, HOST_COOKIE)[""]
    new.session.cookie_jar.clear()

    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await new.ws_connect("/authentication/events", headers={"Cookie": f"{COOKIE}={planted}"})
    adopted = await new.ws_connect(
        "/authentication/events", headers={"Cookie": f"{COOKIE}={before}"}
    )

    assert refused.value.status == 401
    assert json.loads(await adopted.receive_str())["type"] == "ready"
    await adopted.close()


async def test_after_a_restart_an_old_name_cookie_is_honoured_only_if_made_before_the_prefix(
    make_client: MakeClient, shared_settings: MakeSettings, clock: FakeClock
) -> None:
    """The moment the prefix was first deployed is recorded once, in the sessions' store: a
    restart (a new instance) does not move it on, or a sibling site could plant a cookie
    under the old name of any session made before that restart."""
    before = await before_the_upgrade(make_client, shared_settings, clock, remember=True)
    first = await make_client(shared_settings(cookie_secure=True))
    await first.app[LEGACY_CUTOFF].moment()  # recorded at its start (the test waits for it)
    clock.advance(timedelta(seconds=5))
    since = await first.post("/authentication/log-in", json=CREDENTIALS | {"remember": True})
    made_since = the_cookie(since, HOST_COOKIE)[""]
    clock.advance(timedelta(hours=1))
    restarted = await make_client(shared_settings(cookie_secure=True))

    refused = await restarted.get("/authentication", cookies={COOKIE: made_since})
    adopted = await restarted.get("/authentication", cookies={COOKIE: before})

    assert refused.status == 401
    assert HOST_COOKIE not in set_cookies(refused)
    assert_cleared(refused, COOKIE)
    assert adopted.status == 200
    cookies = set_cookies(adopted)
    assert cookies[HOST_COOKIE][""] == before  # moved to the new name, once
    assert cookies[COOKIE]["max-age"] == "0"
    again = await restarted.get("/authentication", cookies={HOST_COOKIE: before})
    assert again.status == 200
    assert "Set-Cookie" not in again.headers
    assert (await restarted.get("/authentication", cookies={HOST_COOKIE: made_since})).ok


async def test_log_out_clears_a_cookie_under_the_old_name_and_ends_its_session(
    make_client: MakeClient, shared_settings: MakeSettings, clock: FakeClock
) -> None:
    ticket = await before_the_upgrade(make_client, shared_settings, clock)
    new = await make_client(shared_settings(cookie_secure=True))

    logged_out = await new.post("/authentication/log-out", cookies={COOKIE: ticket})

    assert logged_out.status == 204
    assert set_cookies(logged_out)[COOKIE]["max-age"] == "0"
    assert (await new.get("/authentication", cookies={COOKIE: ticket})).status == 401
