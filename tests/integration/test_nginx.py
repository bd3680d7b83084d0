"""End to end behind a real nginx running the shipped deploy/nginx/coatcheck.conf: coatcheck
(on real PostgreSQL and Redis, TRUSTED_PROXIES=127.0.0.1, Secure cookies over nginx's TLS)
answers /authentication/* and guards a small application that records what reaches it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from attrs import define, field
from multidict import CIMultiDictProxy

from coatcheck.adapters.clock import FakeClock
from coatcheck.entrypoints.http.app import create_app
from coatcheck.entrypoints.http.identity import (
    EMAIL,
    EMAIL_VERIFIED,
    METHODS,
    SESSION_ID,
    USER_ID,
)
from coatcheck.entrypoints.settings import Settings
from tests.integration.conformance import Conformance
from tests.integration.conftest import CREDENTIALS, REGISTRATION, MakeSettings
from tests.integration.http import set_cookies
from tests.integration.nginx import Proxy, nginx
from tests.integration.tcp_proxy import TcpProxy, tcp_proxy

IDENTITY_HEADERS = (USER_ID, EMAIL, SESSION_ID, EMAIL_VERIFIED, METHODS)
MakeServer = Callable[..., Awaitable[TestServer]]


@define
class Application:
    """The protected application: answers anything, and records every request it gets."""

    seen: list[tuple[str, str, CIMultiDictProxy[str], bytes]] = field(factory=list)

    def app(self) -> web.Application:
        async def anything(request: web.Request) -> web.Response:
            body = await request.read()
            self.seen.append((request.method, request.path, request.headers, body))
            return web.json_response({"path": request.path})

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", anything)
        return app

    def identity(self) -> dict[str, list[str]]:
        """The identity headers of the last request it got, every value of each."""
        headers = self.seen[-1][2]
        return {name: headers.getall(name, []) for name in IDENTITY_HEADERS}


@define
class Site:
    proxy: Proxy
    http: aiohttp.ClientSession
    application: Application
    coatcheck: TestServer
    settings: Settings
    upstream: TcpProxy  # between nginx and coatcheck: counts the connections nginx opens

    @property
    def cookie_name(self) -> str:
        return self.settings.cookie_full_name

    @property
    def origin(self) -> dict[str, str]:
        """The Origin header a browser on the site sends."""
        return {"Origin": self.proxy.https}

    async def request(
        self, method: str, path: str, ticket: str | None = None, **options: Any
    ) -> aiohttp.ClientResponse:
        """A request through nginx carrying this ticket's cookie, or no cookie at all."""
        headers = dict(options.pop("headers", {}))
        if ticket is not None:
            headers["Cookie"] = f"{self.cookie_name}={ticket}"
        response = await self.http.request(
            method, self.proxy.https + path, headers=headers, **options
        )
        await response.read()
        return response

    async def log_in(self, remember: bool = False) -> str:
        """Ada logs in through nginx, as a browser on the site; her new ticket."""
        body = CREDENTIALS | {"remember": remember}
        response = await self.request(
            "POST", "/authentication/log-in", json=body, headers=self.origin
        )
        assert response.status == 200, await response.text()
        return self.ticket_of(response)

    def ticket_of(self, response: aiohttp.ClientResponse) -> str:
        cookie = set_cookies(response)[self.cookie_name]
        assert "secure" in cookie
        return cookie[""]


@pytest.fixture
async def site(
    shared_settings: MakeSettings,
    clock: FakeClock,
    conformance: Conformance,
    aiohttp_server: MakeServer,
    tmp_path: Path,
) -> AsyncIterator[Site]:
    settings = shared_settings(trusted_proxies="127.0.0.1", cookie_secure=True)
    app = create_app(settings, overrides={"clock": clock})
    conformance.watch(app)
    coatcheck = await aiohttp_server(app)
    application = Application()
    upstream = await aiohttp_server(application.app())
    assert coatcheck.port is not None
    assert upstream.port is not None
    async with (
        tcp_proxy("127.0.0.1", coatcheck.port) as counted,
        nginx(tmp_path / "nginx", counted.port, upstream.port) as proxy,
        aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=proxy.tls),
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=10),
        ) as http,
    ):
        site = Site(proxy, http, application, coatcheck, settings, counted)
        registered = await site.request(
            "POST", "/authentication/register", json=REGISTRATION, headers=site.origin
        )
        assert registered.status == 201
        yield site


async def test_without_a_cookie_nginx_answers_401_and_the_application_never_sees_it(
    site: Site,
) -> None:
    responses = [
        await site.request("GET", "/"),
        await site.request("GET", "/orders/7"),
        await site.request("POST", "/orders", json={"item": 1}),
        await site.request("GET", "/", ticket="A" * 43),
    ]

    assert [response.status for response in responses] == [401, 401, 401, 401]
    assert site.application.seen == []


async def test_a_live_cookie_reaches_the_application_with_the_identity_headers(
    site: Site,
) -> None:
    ticket = await site.log_in()
    who = await (await site.request("GET", "/authentication", ticket)).json()
    sessions = await (await site.request("GET", "/authentication/sessions", ticket)).json()
    (current,) = [session["id"] for session in sessions if session["current"]]

    got = await site.request("GET", "/orders/7?page=2", ticket)
    posted = await site.request("POST", "/orders", ticket, json={"item": 1})

    assert (got.status, posted.status) == (200, 200)
    assert site.application.identity() == {
        USER_ID: [who["id"]],
        EMAIL: [REGISTRATION["email"]],
        SESSION_ID: [current],
        EMAIL_VERIFIED: ["false"],
        METHODS: ["password"],
    }
    assert [(method, path, body) for method, path, _, body in site.application.seen] == [
        ("GET", "/orders/7", b""),
        ("POST", "/orders", b'{"item": 1}'),
    ]


async def test_identity_headers_sent_by_the_client_never_reach_the_application(
    site: Site,
) -> None:
    ticket = await site.log_in()
    forged = {
        USER_ID: "00000000-0000-0000-0000-000000000000",
        EMAIL.lower(): "grace@example.com",
        SESSION_ID.upper(): "0000000000000000",
        "X_Auth_User_Id": "00000000-0000-0000-0000-000000000000",  # the CGI spelling
        EMAIL_VERIFIED: "true",
        METHODS: "password,totp",  # as if a second factor had been given
    }

    refused = await site.request("GET", "/", headers=forged)
    allowed = await site.request("GET", "/", ticket, headers=forged)

    assert refused.status == 401
    assert allowed.status == 200
    assert len(site.application.seen) == 1
    identity = site.application.identity()
    assert identity[EMAIL] == [REGISTRATION["email"]]
    assert identity[USER_ID] != [forged[USER_ID]]
    assert identity[METHODS] == ["password"]
    assert len(identity[USER_ID]) == len(identity[SESSION_ID]) == 1
    received = site.application.seen[0][2]
    assert "X_Auth_User_Id" not in received
    assert forged[SESSION_ID.upper()] not in received.values()


async def test_a_renewed_cookie_reaches_the_browser_through_nginx(
    site: Site, clock: FakeClock
) -> None:
    ticket = await site.log_in(remember=True)
    quiet = await site.request("GET", "/", ticket)
    clock.advance(timedelta(seconds=61))

    renewed = await site.request("GET", "/", ticket)

    assert quiet.status == renewed.status == 200
    assert "Set-Cookie" not in quiet.headers
    cookie = set_cookies(renewed)[site.cookie_name]
    assert cookie[""] == ticket
    assert int(cookie["max-age"]) == site.settings.remember_idle_timeout
    assert {"secure", "httponly"} <= cookie.keys()
    assert len(site.application.seen) == 2


async def test_a_revocation_through_coatcheck_makes_the_next_proxied_request_401(
    site: Site,
) -> None:
    stolen = await site.log_in()
    own = await site.log_in()
    assert (await site.request("GET", "/", stolen)).status == 200
    [stolen_id] = site.application.identity()[SESSION_ID]

    revoked = await site.request(
        "DELETE", f"/authentication/sessions/{stolen_id}", own, headers=site.origin
    )
    after = await site.request("GET", "/", stolen)

    assert revoked.status == 204
    assert after.status == 401
    assert set_cookies(after)[site.cookie_name]["max-age"] == "0"  # the dead cookie is cleared
    assert len(site.application.seen) == 1
    assert (await site.request("GET", "/", own)).status == 200


async def test_a_log_in_through_nginx_passes_the_origin_check_and_a_foreign_origin_does_not(
    site: Site,
) -> None:
    spoofed = {"X-Forwarded-For": "203.0.113.9"}

    ticket = await site.log_in()
    cross_site = await site.request(
        "POST",
        "/authentication/log-in",
        json=CREDENTIALS,
        headers={"Origin": "https://evil.example"},
    )
    plain_origin = await site.request(
        "POST",
        "/authentication/log-in",
        json=CREDENTIALS,
        headers={"Origin": site.proxy.https.replace("https:", "http:")},
    )
    sessions = await (
        await site.request("GET", "/authentication/sessions", ticket, headers=spoofed)
    ).json()

    assert cross_site.status == 403
    assert plain_origin.status == 403  # the browser is on https: http is another origin
    assert {session["ipAddress"] for session in sessions} == {"127.0.0.1"}


async def test_coatcheck_s_own_paths_are_served_by_coatcheck_without_the_check(
    site: Site,
) -> None:
    health = await site.request("GET", "/authentication/verify")
    account = await site.request("GET", "/account/")

    assert health.status == 401
    assert account.status == 200
    assert account.headers["Content-Type"].startswith("text/html")
    assert "frame-ancestors 'none'" in account.headers["Content-Security-Policy"]
    assert site.application.seen == []


async def test_the_events_websocket_passes_through_nginx_and_closes_when_revoked(
    site: Site,
) -> None:
    watched = await site.log_in()
    own = await site.log_in()
    url = site.proxy.https.replace("https:", "wss:") + "/authentication/events"
    headers = {"Cookie": f"{site.cookie_name}={watched}", "X-Auth-User-Id": "forged"}

    async with site.http.ws_connect(url, headers=headers, origin=site.proxy.https) as socket:
        ready = await socket.receive_json(timeout=5)
        revoked = await site.request(
            "DELETE", f"/authentication/sessions/{ready['session']}", own, headers=site.origin
        )
        ended = await socket.receive_json(timeout=5)
        closing = await socket.receive(timeout=5)

    assert revoked.status == 204
    assert ended == {"type": "session-ended", "reason": "revoked"}
    assert closing.type is aiohttp.WSMsgType.CLOSE
    assert closing.data == 4001
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await site.http.ws_connect(url, headers=headers, origin="https://evil.example")
    assert refused.value.status == 403


async def test_coatcheck_unreachable_is_503_from_nginx_and_the_application_never_sees_it(
    site: Site,
) -> None:
    ticket = await site.log_in()
    await site.coatcheck.close()

    response = await site.request("GET", "/", ticket)

    assert response.status == 503
    assert response.headers["Retry-After"] == "1"
    assert site.application.seen == []


async def test_plain_http_is_sent_to_https(site: Site) -> None:
    response = await site.http.get(site.proxy.http + "/orders?page=2", allow_redirects=False)

    assert response.status == 301
    assert response.headers["Location"] == "https://127.0.0.1/orders?page=2"


async def _chunks(body: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(body), 4096):
        yield body[start : start + 4096]


BODIES = [
    ("POST", b"item=9999", False),
    ("PUT", b'{"item": 1}', False),
    ("PATCH", b'{"item": 2}', False),
    ("DELETE", b'{"reason": "gone"}', False),
    ("POST", b"chunked " * 512, True),
    ("POST", bytes(range(256)) * 800, False),  # 200 KB
]


async def test_requests_with_bodies_keep_every_kept_alive_connection_in_step(site: Site) -> None:
    """nginx's check carries no body: it must not say it has one, or coatcheck reads the
    next request on the kept-alive connection (another user's check) as that body."""
    ticket = await site.log_in()
    opened: list[object] = []

    async def connection_opened(*_: object) -> None:
        opened.append(1)

    tracing = aiohttp.TraceConfig()
    tracing.on_connection_create_end.append(connection_opened)
    cookie = {"Cookie": f"{site.cookie_name}={ticket}"}
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=site.proxy.tls, limit=1),
        cookie_jar=aiohttp.DummyCookieJar(),
        timeout=aiohttp.ClientTimeout(total=5),
        trace_configs=[tracing],
    ) as browser:

        async def send(method: str, body: bytes | None = None, chunked: bool = False) -> int:
            data = _chunks(body) if chunked and body is not None else body
            url = f"{site.proxy.https}/anything"
            try:
                async with browser.request(method, url, data=data, headers=cookie) as response:
                    await response.read()
                    return response.status
            except TimeoutError:  # a check stuck waiting for a body that never comes
                return 0

        assert await send("GET") == 200  # the connections to nginx and to coatcheck are open
        upstream_connections = site.upstream.connections
        statuses = []
        for method, body, chunked in BODIES:
            statuses.append((method, await send(method, body, chunked), await send("GET")))

    assert statuses == [(method, 200, 200) for method, _, _ in BODIES]
    received = [(method, body) for method, _, _, body in site.application.seen[1:]]
    assert received[::2] == [(method, body) for method, body, _ in BODIES]
    assert received[1::2] == [("GET", b"")] * len(BODIES)
    assert len(opened) == 1  # every request on one connection to nginx
    assert site.upstream.connections == upstream_connections  # and every check on one to coatcheck
