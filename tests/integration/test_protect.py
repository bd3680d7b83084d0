"""coatcheck.protect on an application of its own, in both modes: in process (coatcheck's
use-cases, the app being coatcheck's own) and over HTTP (coatcheck's verify endpoint, the
app beside it). Real PostgreSQL and Redis; failures of either kind give 503, never 500 or
200."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestServer, unused_port
from attrs import define, field

from coatcheck.adapters.clock import FakeClock
from coatcheck.entrypoints.container import build_container
from coatcheck.entrypoints.http.app import create_app
from coatcheck.entrypoints.http.identity import EMAIL, USER_ID
from coatcheck.entrypoints.http.tickets import CookiePolicy
from coatcheck.protect import (
    AsgiGuard,
    InProcess,
    OverHttp,
    WsgiGuard,
    identity,
    protect,
    requires_session,
)
from tests.integration.conftest import CREDENTIALS, REGISTRATION, Client, MakeClient, MakeSettings
from tests.integration.http import bearer, set_cookies
from tests.integration.test_http_store_down import NOBODY_LISTENS

SHORT_TIMEOUT = 0.3
MakeAiohttpClient = Callable[..., Awaitable[Client]]
MakeServer = Callable[..., Awaitable[TestServer]]
routes = web.RouteTableDef()


@routes.get("/open")
async def open_to_all(request: web.Request) -> web.Response:
    return web.json_response({"open": True})


@routes.get("/open/headers")
async def headers_seen(request: web.Request) -> web.Response:
    """The identity headers that reached the handler."""
    names = [name.lower() for name in request.headers]
    return web.json_response([name for name in names if name.startswith(("x-auth", "x_auth"))])


@routes.get("/orders")
@requires_session
async def orders(request: web.Request) -> web.Response:
    who = identity(request)
    return web.json_response(
        {"userId": str(who.user_id), "email": who.email, "sessionId": who.session_id}
    )


@routes.get("/orders/latest")
@requires_session
async def latest(request: web.Request) -> web.Response:
    raise web.HTTPFound("/orders")


def shop(middleware: Any, app: web.Application | None = None) -> web.Application:
    """The protected application: its own, or coatcheck's with the shop's routes added."""
    app = app or web.Application()
    app.add_routes(routes)
    app.middlewares.append(middleware)
    return app


@define
class Protected:
    coatcheck: Client  # coatcheck's API
    shop: Client  # the protected app: the same client in process
    cookie_name: str

    async def ticket(self, remember: bool = False) -> str:
        response = await self.coatcheck.post(
            "/authentication/log-in", json=CREDENTIALS | {"remember": remember}
        )
        assert response.status == 200
        self.coatcheck.session.cookie_jar.clear()
        return set_cookies(response)[self.cookie_name][""]

    async def get(self, path: str, ticket: str | None = None, **headers: str) -> ClientResponse:
        self.shop.session.cookie_jar.clear()
        if ticket is not None:
            headers["Cookie"] = f"{self.cookie_name}={ticket}"
        return await self.shop.get(path, headers=headers, allow_redirects=False)


@pytest.fixture(params=["in_process", "over_http"])
async def protected(
    request: pytest.FixtureRequest,
    shared_settings: MakeSettings,
    make_client: MakeClient,
    aiohttp_client: MakeAiohttpClient,
    clock: FakeClock,
) -> Protected:
    settings = shared_settings()
    if request.param == "in_process":
        app = create_app(settings, overrides={"clock": clock})
        client = await aiohttp_client(shop(protect(InProcess.of(app)), app))
        coatcheck = shop_client = client
    else:
        coatcheck = await make_client(settings)
        verifier = OverHttp(str(coatcheck.make_url("")))
        app = shop(protect(verifier))
        app.cleanup_ctx.append(verifier.lifetime)
        shop_client = await aiohttp_client(app)
    assert (await coatcheck.post("/authentication/register", json=REGISTRATION)).status == 201
    coatcheck.session.cookie_jar.clear()
    return Protected(coatcheck, shop_client, settings.cookie_full_name)


async def test_a_route_not_marked_is_open_and_a_marked_one_refuses_no_ticket(
    protected: Protected,
) -> None:
    opened = await protected.get("/open")
    refused = await protected.get("/orders")

    assert opened.status == 200
    assert refused.status == 401
    assert refused.content_type == "application/problem+json"
    assert (await refused.json())["type"] == "urn:coatcheck:problem:not-authenticated"


async def test_a_live_cookie_or_token_puts_its_user_on_the_request(protected: Protected) -> None:
    ticket = await protected.ticket()
    who = await (await protected.coatcheck.get("/authentication", headers=bearer(ticket))).json()
    token_response = await protected.coatcheck.post("/authentication/token", json=CREDENTIALS)
    token = (await token_response.json())["token"]

    by_cookie = await protected.get("/orders", ticket)
    by_token = await protected.get("/orders", None, **bearer(token))

    assert by_cookie.status == by_token.status == 200
    cookie_says, token_says = await by_cookie.json(), await by_token.json()
    assert cookie_says["userId"] == token_says["userId"] == who["id"]
    assert cookie_says["email"] == REGISTRATION["email"]
    assert cookie_says["sessionId"] != token_says["sessionId"]


async def test_identity_headers_of_the_request_are_never_believed(protected: Protected) -> None:
    ticket = await protected.ticket()
    claims = {USER_ID: "00000000-0000-0000-0000-000000000000", EMAIL: "grace@example.com"}

    alone = await protected.get("/orders", None, **claims)
    with_ticket = await protected.get("/orders", ticket, **claims)

    assert alone.status == 401
    assert (await with_ticket.json())["email"] == REGISTRATION["email"]


async def test_identity_headers_of_either_spelling_never_reach_a_route_marked_or_not(
    protected: Protected,
) -> None:
    forged = {"X-Auth-User-Id": "00000000-0000-0000-0000-000000000000", "X_Auth_Email": "g@h.io"}

    seen = await protected.get("/open/headers", None, **forged)

    assert seen.status == 200
    assert await seen.json() == []


async def test_a_renewed_session_s_cookie_reaches_the_client(
    protected: Protected, clock: FakeClock
) -> None:
    ticket = await protected.ticket(remember=True)
    quiet = await protected.get("/orders", ticket)
    clock.advance(timedelta(seconds=61))

    renewed = await protected.get("/orders", ticket)
    clock.advance(timedelta(seconds=61))
    redirected = await protected.get("/orders/latest", ticket)
    clock.advance(timedelta(seconds=61))
    by_coatcheck = await protected.coatcheck.get(
        "/authentication", headers={"Cookie": f"{protected.cookie_name}={ticket}"}
    )

    assert "Set-Cookie" not in quiet.headers
    assert renewed.status == 200
    cookie = set_cookies(renewed)[protected.cookie_name]
    assert (cookie[""], int(cookie["max-age"])) == (ticket, 30 * 24 * 60 * 60)
    assert cookie.keys() == set_cookies(by_coatcheck)[protected.cookie_name].keys()
    assert renewed.headers["Cache-Control"] == "no-store"
    assert redirected.status == 302
    assert set_cookies(redirected)[protected.cookie_name][""] == ticket


async def test_a_bearer_request_is_renewed_without_a_cookie(
    protected: Protected, clock: FakeClock
) -> None:
    token_response = await protected.coatcheck.post("/authentication/token", json=CREDENTIALS)
    token = (await token_response.json())["token"]
    clock.advance(timedelta(seconds=61))

    response = await protected.get("/orders", None, **bearer(token))

    assert response.status == 200
    assert "Set-Cookie" not in response.headers


async def test_a_logged_out_session_is_refused_and_its_cookie_cleared(
    protected: Protected,
) -> None:
    ticket = await protected.ticket()
    assert (await protected.get("/orders", ticket)).status == 200
    logged_out = await protected.coatcheck.post(
        "/authentication/log-out", headers={"Cookie": f"{protected.cookie_name}={ticket}"}
    )
    assert logged_out.status == 204

    response = await protected.get("/orders", ticket)

    assert response.status == 401
    assert set_cookies(response)[protected.cookie_name]["max-age"] == "0"


async def test_one_request_s_renewed_cookie_never_rides_along_with_another(
    protected: Protected, clock: FakeClock
) -> None:
    ticket = await protected.ticket(remember=True)
    clock.advance(timedelta(seconds=61))
    assert "Set-Cookie" in (await protected.get("/orders", ticket)).headers

    anonymous = await protected.get("/orders")

    assert anonymous.status == 401


# -- in process: a store that fails or hangs ---------------------------------------------


@pytest.fixture
async def black_hole() -> AsyncIterator[int]:
    """A port that accepts connections and never answers."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    for writer in held:
        writer.close()
    server.close()
    await server.wait_closed()


@pytest.mark.parametrize("store", ["down", "hung"])
async def test_in_process_a_session_store_that_fails_or_hangs_is_a_503(
    shared_settings: MakeSettings,
    aiohttp_client: MakeAiohttpClient,
    black_hole: int,
    store: str,
) -> None:
    redis_url = NOBODY_LISTENS if store == "down" else f"redis://127.0.0.1:{black_hole}/0"
    app = create_app(shared_settings(redis_url=redis_url))
    client = await aiohttp_client(shop(protect(InProcess.of(app, timeout=SHORT_TIMEOUT)), app))

    started = time.monotonic()
    response = await client.get("/orders", headers=bearer("A" * 43))

    assert time.monotonic() - started < SHORT_TIMEOUT + 1
    assert response.status == 503
    assert response.headers["Retry-After"] == "1"
    assert response.content_type == "application/problem+json"


# -- over HTTP: what goes to coatcheck, and coatcheck that fails or hangs -----------------


async def over_http(aiohttp_client: MakeAiohttpClient, base: str) -> Client:
    verifier = OverHttp(base, timeout=SHORT_TIMEOUT)
    app = shop(protect(verifier))
    app.cleanup_ctx.append(verifier.lifetime)
    return await aiohttp_client(app)


@pytest.mark.parametrize("coatcheck", ["unreachable", "hung", "stores down"])
async def test_over_http_coatcheck_that_fails_or_hangs_is_a_503(
    aiohttp_client: MakeAiohttpClient,
    make_client: MakeClient,
    shared_settings: MakeSettings,
    black_hole: int,
    coatcheck: str,
) -> None:
    if coatcheck == "stores down":
        down = await make_client(shared_settings(redis_url=NOBODY_LISTENS))
        base = str(down.make_url(""))
    else:
        port = black_hole if coatcheck == "hung" else unused_port()
        base = f"http://127.0.0.1:{port}"
    client = await over_http(aiohttp_client, base)

    started = time.monotonic()
    response = await client.get("/orders", headers=bearer("A" * 43))

    assert time.monotonic() - started < SHORT_TIMEOUT + 1
    assert response.status == 503
    assert response.content_type == "application/problem+json"


async def _asgi_status(guard: AsgiGuard) -> tuple[int, dict[bytes, bytes]]:
    """What the ASGI guard answers a request with a ticket: status and headers."""
    sent: list[dict[str, Any]] = []
    scope = {
        "type": "http",
        "path": "/orders",
        "headers": [(b"authorization", b"Bearer " + b"A" * 43)],
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    try:
        await guard(scope, receive, send)
    finally:
        await guard.aclose()
    return sent[0]["status"], dict(sent[0]["headers"])


def _wsgi_status(guard: WsgiGuard) -> tuple[int, dict[bytes, bytes]]:
    """What the WSGI guard answers a request with a ticket: status and headers."""
    answer: dict[str, Any] = {}
    environ = {"PATH_INFO": "/orders", "REQUEST_METHOD": "GET"}
    environ["HTTP_AUTHORIZATION"] = "Bearer " + "A" * 43

    def start_response(status: str, headers: list[tuple[str, str]], *_: Any) -> None:
        answer.update(status=int(status.split()[0]), headers=headers)

    try:
        b"".join(guard(environ, start_response))
    finally:
        guard.close()
    return answer["status"], {k.lower().encode(): v.encode() for k, v in answer["headers"]}


def _never_called(environ: Any, start_response: Any) -> list[bytes]:
    raise AssertionError("the application was reached")


async def _never_reached(scope: Any, receive: Any, send: Any) -> None:
    raise AssertionError("the application was reached")


@pytest.mark.parametrize("stack", ["asgi", "wsgi"])
@pytest.mark.parametrize("coatcheck", ["unreachable", "hung", "stores down"])
async def test_the_asgi_and_wsgi_guards_answer_503_within_their_timeout(
    make_client: MakeClient,
    shared_settings: MakeSettings,
    black_hole: int,
    coatcheck: str,
    stack: str,
) -> None:
    if coatcheck == "stores down":
        down = await make_client(shared_settings(redis_url=NOBODY_LISTENS))
        base = str(down.make_url(""))
    else:
        base = f"http://127.0.0.1:{black_hole if coatcheck == 'hung' else unused_port()}"

    started = time.monotonic()
    if stack == "asgi":
        status, headers = await _asgi_status(AsgiGuard(_never_reached, base, timeout=SHORT_TIMEOUT))
    else:
        guard = WsgiGuard(_never_called, base, timeout=SHORT_TIMEOUT)
        status, headers = await asyncio.to_thread(_wsgi_status, guard)

    assert time.monotonic() - started < SHORT_TIMEOUT + 1
    assert status == 503
    assert headers[b"retry-after"] == b"1"


@define
class FakeVerify:
    """Answers GET /authentication/verify as told, recording what each request carried."""

    status: int = 200
    headers: dict[str, str] = field(factory=dict)
    seen: list[tuple[dict[str, str], int]] = field(factory=list)  # (headers, client port)

    def app(self) -> web.Application:
        async def verify(request: web.Request) -> web.Response:
            assert request.transport is not None
            port = request.transport.get_extra_info("peername")[1]
            self.seen.append((dict(request.headers), port))
            return web.Response(status=self.status, headers=self.headers)

        app = web.Application()
        app.router.add_get("/authentication/verify", verify)
        return app


async def test_over_http_only_the_cookie_and_authorization_go_to_coatcheck_on_one_connection(
    aiohttp_client: MakeAiohttpClient, aiohttp_server: MakeServer
) -> None:
    fake = FakeVerify(
        headers={USER_ID: "8a5c9e3e-2247-4d87-87cf-b15e71d67a48", EMAIL: "a@b.io"} | SESSION
    )
    server = await aiohttp_server(fake.app())
    client = await over_http(aiohttp_client, str(server.make_url("")))
    sent = {
        "Cookie": "coatcheck=abc; theme=dark",
        "Authorization": "Bearer xyz",
        "X-Forwarded-For": "203.0.113.9",
        "X-Auth-User-Id": "00000000-0000-0000-0000-000000000000",
        "Referer": "https://app.example/secret",
    }

    for _ in range(3):
        assert (await client.get("/orders", headers=sent)).status == 200

    forwarded = {
        name: value
        for name, value in fake.seen[0][0].items()
        if name not in {"Host", "Accept", "Accept-Encoding", "User-Agent"}
    }
    assert forwarded == {"Cookie": sent["Cookie"], "Authorization": sent["Authorization"]}
    assert len({port for _, port in fake.seen}) == 1  # pooled: one connection, kept alive


SESSION = {"X-Auth-Session-Id": "88a44f35896f9be0", "X-Auth-Email-Verified": "false"}


@pytest.mark.parametrize(
    ("status", "headers"),
    [
        (200, {}),  # no identity
        (200, {USER_ID: "not-a-uuid", EMAIL: "a@b.io"} | SESSION),
        (204, {USER_ID: "8a5c9e3e-2247-4d87-87cf-b15e71d67a48", EMAIL: "a@b.io"} | SESSION),
        (302, {"Location": "/elsewhere"}),
        (500, {}),
    ],
)
async def test_over_http_an_answer_other_than_a_sound_200_or_a_401_is_never_a_200(
    aiohttp_client: MakeAiohttpClient,
    aiohttp_server: MakeServer,
    status: int,
    headers: dict[str, str],
) -> None:
    server = await aiohttp_server(FakeVerify(status, headers).app())
    client = await over_http(aiohttp_client, str(server.make_url("")))

    response = await client.get("/orders", headers={"Cookie": "coatcheck=abc"})

    assert response.status == 503


async def test_in_process_on_the_services_of_build_container(
    shared_settings: MakeSettings, make_client: MakeClient, aiohttp_client: MakeAiohttpClient
) -> None:
    settings = shared_settings()
    coatcheck = await make_client(settings)
    registered = await coatcheck.post("/authentication/register", json=REGISTRATION)
    ticket = set_cookies(registered)[settings.cookie_full_name][""]

    async with build_container(settings) as services:
        verifier = InProcess(services, CookiePolicy.of(settings))
        client = await aiohttp_client(shop(protect(verifier)))
        cookie = {"Cookie": f"{settings.cookie_full_name}={ticket}"}
        response = await client.get("/orders", headers=cookie)
        body = await response.json()

    assert response.status == 200
    assert body["email"] == REGISTRATION["email"]
