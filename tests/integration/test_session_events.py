"""GET /authentication/events, through aiohttp's WebSocket client on real PostgreSQL and Redis
(and the embedded store): who may open one, and that it closes within a second whenever
and wherever its session ends, endings missed during a lost subscription included."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType
from yarl import URL

from coatcheck.adapters.clock import SystemClock
from coatcheck.entrypoints.cli import main
from coatcheck.entrypoints.http.session_socket import HUB, SESSION_ENDED
from tests.integration.conftest import (
    CREDENTIALS,
    REGISTRATION,
    SESSION_SECRET,
    Client,
    MakeClient,
    MakeSettings,
)
from tests.integration.http import COOKIE, bearer, cookie, token
from tests.integration.serving import coatcheck_serve
from tests.integration.tcp_proxy import tcp_proxy
from tests.listening import until

EVENTS = "/authentication/events"
NEW_PASSWORD = "tr0ub4dor & 3"
WITHIN = 1.0  # the promise: a socket closes within a second of its session's end


async def log_in(client: Client) -> str:
    """A new session of Ada's (registered before): its ticket, nothing left in the jar."""
    client.session.cookie_jar.clear()
    response = await client.post("/authentication/log-in", json=CREDENTIALS)
    assert response.status == 200
    client.session.cookie_jar.clear()
    return str(response.cookies[COOKIE].value)


async def sign_up(client: Client) -> str:
    response = await client.post("/authentication/register", json=REGISTRATION)
    assert response.status == 201
    client.session.cookie_jar.clear()
    return str(response.cookies[COOKIE].value)


async def as_holder(client: Client, method: str, path: str, ticket: str, **kwargs: Any) -> Any:
    client.session.cookie_jar.clear()
    return await client.request(method, path, headers=cookie(ticket), **kwargs)


async def session_id_of(client: Client, ticket: str) -> str:
    listed = await (await as_holder(client, "GET", "/authentication/sessions", ticket)).json()
    (mine,) = [item["id"] for item in listed if item["current"]]
    return str(mine)


async def revoke(client: Client, session_id: str, by: str) -> None:
    """DELETE the session with this public id, as the holder of ticket `by`."""
    revoked = await as_holder(client, "DELETE", f"/authentication/sessions/{session_id}", by)
    assert revoked.status == 204


class Socket:
    """An open events socket and what it has received."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, ready: dict[str, Any]) -> None:
        self.ws = ws
        self.ready = ready
        self.received: list[dict[str, Any]] = []

    async def next_event(self, seconds: float = 2.0) -> dict[str, Any]:
        message = await self.ws.receive(timeout=seconds)
        assert message.type is WSMsgType.TEXT, message
        event: dict[str, Any] = message.json()
        self.received.append(event)
        return event

    async def closed(self, seconds: float = 3.0) -> tuple[int | None, float]:
        """Wait for the server to close the socket: (close code, seconds it took)."""
        started = time.monotonic()
        while True:
            message = await self.ws.receive(timeout=seconds)
            if message.type is WSMsgType.TEXT:
                self.received.append(message.json())
                continue
            assert message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED)
            return self.ws.close_code, time.monotonic() - started

    @property
    def reasons(self) -> list[str]:
        return [event["reason"] for event in self.received if event["type"] == "session-ended"]


async def open_socket(client: Client, headers: dict[str, str], **options: Any) -> Socket:
    client.session.cookie_jar.clear()
    ws = await client.ws_connect(EVENTS, headers=headers, **options)
    message = await ws.receive_json(timeout=2)
    assert message["type"] == "ready"
    return Socket(ws, message)


async def refusal(client: Client, headers: dict[str, str], **options: Any) -> int:
    client.session.cookie_jar.clear()
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect(EVENTS, headers=headers, **options)
    return refused.value.status


async def test_a_socket_without_a_live_session_is_refused(client: Client) -> None:
    assert await refusal(client, {}) == 401
    assert await refusal(client, cookie("A" * 43)) == 401
    ticket = await sign_up(client)
    assert (await as_holder(client, "POST", "/authentication/log-out", ticket)).status == 204
    assert await refusal(client, cookie(ticket)) == 401


async def test_a_socket_from_a_foreign_origin_is_refused_even_with_a_live_session(
    client: Client,
) -> None:
    ticket = await sign_up(client)
    assert await refusal(client, cookie(ticket), origin="https://evil.example") == 403
    assert await refusal(client, cookie(ticket), origin="null") == 403
    own = f"http://127.0.0.1:{client.port}"
    socket = await open_socket(client, cookie(ticket), origin=own)
    assert socket.ready["session"] == await session_id_of(client, ticket)


async def test_a_socket_from_an_allowed_origin_is_accepted(
    make_client: MakeClient, shared_settings: MakeSettings
) -> None:
    client = await make_client(shared_settings(allowed_origins="https://app.example"))
    ticket = await sign_up(client)
    await open_socket(client, cookie(ticket), origin="https://app.example")


async def test_a_request_that_is_not_a_websocket_handshake_is_a_400_problem(
    client: Client,
) -> None:
    ticket = await sign_up(client)
    response = await as_holder(client, "GET", EVENTS, ticket)
    assert response.status == 400
    assert response.content_type == "application/problem+json"


async def test_a_bearer_token_opens_a_socket_that_its_log_out_closes(client: Client) -> None:
    await sign_up(client)
    held = await token(client)
    socket = await open_socket(client, bearer(held), origin="https://anywhere.example")

    client.session.cookie_jar.clear()
    logged_out = await client.post("/authentication/log-out", headers=bearer(held))

    assert logged_out.status == 204
    code, took = await socket.closed()
    assert (code, socket.reasons) == (SESSION_ENDED, ["logged-out"])
    assert took < WITHIN


async def test_a_revocation_through_another_instance_closes_the_socket_within_a_second(
    make_client: MakeClient, shared_settings: MakeSettings
) -> None:
    settings = shared_settings()
    one, two = await make_client(settings), await make_client(settings)
    victim = await sign_up(one)
    socket = await open_socket(one, cookie(victim))
    owner = await log_in(two)

    await revoke(two, socket.ready["session"], by=owner)

    code, took = await socket.closed()
    assert (code, socket.reasons) == (SESSION_ENDED, ["revoked"])
    assert took < WITHIN
    assert one.app is not None
    hub = one.app[HUB]
    await until(lambda: hub.open_sockets == 0)


async def test_the_socket_closes_when_its_session_expires_for_being_open_is_not_activity(
    make_client: MakeClient, shared_settings: MakeSettings
) -> None:
    settings = shared_settings(session_idle_timeout=2, session_absolute_timeout=60)
    client = await make_client(settings, clock=SystemClock())
    ticket = await sign_up(client)
    socket = await open_socket(client, cookie(ticket))
    expires = datetime.fromisoformat(socket.ready["expiresAt"]).timestamp()

    code, _ = await socket.closed(seconds=4)

    assert (code, socket.reasons) == (SESSION_ENDED, ["expired"])
    assert 0 <= time.time() - expires < WITHIN
    assert (await as_holder(client, "GET", "/authentication", ticket)).status == 401


async def test_a_socket_outlives_the_request_deadline_and_shows_in_the_metrics(
    make_client: MakeClient, shared_settings: MakeSettings
) -> None:
    client = await make_client(shared_settings(request_deadline=0.2))
    socket = await open_socket(client, cookie(await sign_up(client)))

    await asyncio.sleep(0.5)  # past the handshake's deadline

    assert not socket.ws.closed
    metrics = await (await client.get("/metrics")).text()
    assert "coatcheck_websockets 1.0" in metrics
    await revoke(client, socket.ready["session"], by=await log_in(client))
    code, _ = await socket.closed()
    assert (code, socket.reasons) == (SESSION_ENDED, ["revoked"])


async def test_a_password_change_closes_the_sockets_of_every_old_session(
    client: Client,
) -> None:
    caller = await sign_up(client)
    elsewhere = await log_in(client)
    sockets = [await open_socket(client, cookie(ticket)) for ticket in (caller, elsewhere)]
    body = {"currentPassword": CREDENTIALS["password"], "newPassword": NEW_PASSWORD}

    changed = await as_holder(client, "POST", "/authentication/change-password", caller, json=body)

    assert changed.status == 204
    for socket in sockets:
        code, took = await socket.closed()
        assert (code, socket.reasons) == (SESSION_ENDED, ["password-changed"])
        assert took < WITHIN
    rotated = changed.cookies[COOKIE].value
    await open_socket(client, cookie(rotated))


async def test_the_operators_revoke_command_closes_the_socket(
    client: Client,
    postgres_dsn: str,
    redis_space: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in {
        "DATABASE_URL": postgres_dsn,
        "REDIS_URL": redis_space[0],
        "REDIS_PREFIX": redis_space[1],
        "SESSION_SECRET": SESSION_SECRET,
    }.items():
        monkeypatch.setenv(name, value)
    socket = await open_socket(client, cookie(await sign_up(client)))

    code = await asyncio.to_thread(main, ["sessions", "revoke", REGISTRATION["email"], "--all"])

    assert code == 0
    closed, took = await socket.closed()
    assert (closed, socket.reasons) == (SESSION_ENDED, ["revoked"])
    assert took < WITHIN


async def test_the_users_other_sockets_hear_that_the_sessions_changed(client: Client) -> None:
    watching = await open_socket(client, cookie(await sign_up(client)))
    grace = {"email": "grace@example.com", "name": "Grace Hopper", "password": "cobol forever"}
    await client.post("/authentication/register", json=grace)  # another user: nothing heard

    another = await log_in(client)
    assert await watching.next_event() == {"type": "sessions-changed"}
    other_id = await session_id_of(client, another)
    mine = await log_in(client)
    assert await watching.next_event() == {"type": "sessions-changed"}

    await revoke(client, other_id, by=mine)

    assert await watching.next_event() == {"type": "sessions-changed"}
    assert not watching.ws.closed


async def test_an_ending_missed_while_the_subscription_was_lost_still_closes_the_socket(
    make_client: MakeClient, shared_settings: MakeSettings
) -> None:
    direct = shared_settings()
    assert direct.redis_url is not None
    redis = URL(direct.redis_url.get_secret_value())
    async with tcp_proxy(redis.host or "127.0.0.1", redis.port or 6379) as proxy:
        behind = shared_settings(redis_url=f"redis://127.0.0.1:{proxy.port}/0")
        watched, elsewhere = await make_client(behind), await make_client(direct)
        victim = await sign_up(watched)
        socket = await open_socket(watched, cookie(victim))
        owner = await log_in(elsewhere)

        proxy.sever()  # the watching instance loses Redis, its subscription with it
        await revoke(elsewhere, socket.ready["session"], by=owner)  # no one there listens
        await asyncio.sleep(0.5)
        assert not socket.ws.closed
        proxy.restore()

        code, took = await socket.closed(seconds=5)

    assert (code, socket.reasons) == (SESSION_ENDED, ["ended"])
    assert took < 2 + WITHIN  # the listener's retries back off to a second at most


async def test_shutting_down_closes_every_socket_as_going_away(client: Client) -> None:
    socket = await open_socket(client, cookie(await sign_up(client)))
    assert client.app is not None
    assert client.app[HUB].open_sockets == 1

    closing = asyncio.create_task(socket.closed())  # the client answers the close at once
    await client.server.close()

    code, _ = await closing
    assert code == aiohttp.WSCloseCode.GOING_AWAY


async def test_on_the_embedded_store_an_operators_revocation_reaches_every_worker(
    tmp_path: Path,
) -> None:
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "DATA_DIR": str(tmp_path),
        "BCRYPT_ROUNDS": "4",
        "COOKIE_SECURE": "false",
        "LOG_FORMAT": "text",
        "METRICS_PORT": "api",  # one instance of many: not the default port
    }
    serving = coatcheck_serve("--workers", "2", env=environment, log=tmp_path / "server.log")
    async with serving as base, contextlib.AsyncExitStack() as stack:
        http = await stack.enter_async_context(aiohttp.ClientSession())
        async with http.post(f"{base}/authentication/register", json=REGISTRATION) as response:
            assert response.status == 201
            held = cookie(response.cookies[COOKIE].value)
        sockets = []
        for _ in range(4):  # fresh connections: the kernel spreads them over both workers
            fresh = await stack.enter_async_context(aiohttp.ClientSession())
            ws = await fresh.ws_connect(f"{base}{EVENTS}", headers=held)
            sockets.append(Socket(ws, await ws.receive_json(timeout=2)))
        revoke = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).with_name("coatcheck")),
            *("sessions", "revoke", REGISTRATION["email"], "--all"),
            env=environment,
        )
        assert await revoke.wait() == 0
        for socket in sockets:
            code, took = await socket.closed()
            assert (code, socket.reasons) == (SESSION_ENDED, ["revoked"])
            assert took < WITHIN


async def test_sockets_over_a_limit_are_refused_with_a_429_problem_and_counted(
    make_client: MakeClient, shared_settings: MakeSettings
) -> None:
    settings = shared_settings(
        websockets_per_session=2, websockets_per_user=3, websockets_per_process=4
    )
    client = await make_client(settings)
    first, second = await sign_up(client), await log_in(client)
    own = [await open_socket(client, cookie(first)) for _ in range(2)]

    client.session.cookie_jar.clear()
    over = await client.get(EVENTS, headers={**cookie(first), **_UPGRADE})
    assert over.status == 429
    assert over.content_type == "application/problem+json"
    assert (await over.json())["type"] == "urn:coatcheck:problem:too-many-sockets"
    own.append(await open_socket(client, cookie(second)))  # the user's third
    assert await refusal(client, cookie(second)) == 429  # the user's fourth
    await client.post("/authentication/register", json=REGISTRATION | {"email": "b@example.com"})
    grace = await log_in_as(client, "b@example.com")
    own.append(await open_socket(client, cookie(grace)))  # the process's fourth
    assert await refusal(client, cookie(grace)) == 429

    await own[0].ws.close()
    await until(lambda: client.app[HUB].open_sockets == 3)
    await open_socket(client, cookie(grace))  # a place was given back
    text = await (await client.get("/metrics")).text()
    for limit, times in (("session", 1), ("user", 1), ("process", 1)):
        line = f'coatcheck_websockets_refused_total{{limit="{limit}"}} {float(times)}'
        assert line in text


async def test_one_client_network_cannot_hold_more_than_its_share_of_the_process(
    make_client: MakeClient, shared_settings: MakeSettings
) -> None:
    """Without it, 313 accounts of one client (32 sockets each) fill a process's 10,000."""
    settings = shared_settings(
        trusted_proxies="127.0.0.1", websockets_per_network=3, websockets_per_process=10
    )
    client = await make_client(settings)
    first, second = await sign_up(client), await log_in(client)
    await client.post("/authentication/register", json=REGISTRATION | {"email": "b@example.com"})
    grace = await log_in_as(client, "b@example.com")
    here = {"X-Forwarded-For": "203.0.113.7"}
    same_network = {"X-Forwarded-For": "2001:db8:1:2::1"}
    for ticket in (first, second):
        await open_socket(client, {**cookie(ticket), **same_network})
    await open_socket(client, {**cookie(grace), **same_network})  # another user, same /64

    other = {**cookie(grace), "X-Forwarded-For": "2001:db8:1:2:ffff::9"}
    assert await refusal(client, other) == 429  # the same /64: its share is held
    await open_socket(client, {**cookie(grace), **here})  # another network still gets in
    await open_socket(client, {**cookie(first), "X-Forwarded-For": "2001:db8:1:3::1"})
    text = await (await client.get("/metrics")).text()
    assert 'coatcheck_websockets_refused_total{limit="network"} 1.0' in text


_UPGRADE = {
    "Connection": "Upgrade",
    "Upgrade": "websocket",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
}


async def log_in_as(client: Client, email: str) -> str:
    client.session.cookie_jar.clear()
    response = await client.post(
        "/authentication/log-in", json={"email": email, "password": CREDENTIALS["password"]}
    )
    assert response.status == 200
    client.session.cookie_jar.clear()
    return str(response.cookies[COOKIE].value)
