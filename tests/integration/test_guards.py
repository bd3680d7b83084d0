"""Every guard of coatcheck.protect, as docs/protecting-services.md writes it, served by a real
server over a socket (uvicorn for Starlette and FastAPI, gunicorn for Flask, aiohttp's own
for aiohttp) in front of a real `coatcheck serve` (its embedded store): the same behaviours
for each. Each server runs the page's example module as written; the test adds one route,
/orders/headers, that tells which identity headers reached the application."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aiohttp.test_utils import unused_port
from attrs import frozen
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.integration.conftest import CREDENTIALS, REGISTRATION
from tests.integration.http import COOKIE
from tests.integration.processes import coatcheck_serve, serve
from tests.integration.test_protecting_services import write_examples

BIN = Path(sys.executable).parent
TIMEOUT = httpx.Timeout(10.0)
FORGED_ID = "00000000-0000-0000-0000-000000000000"
FORGED = {
    "X-Auth-User-Id": FORGED_ID,
    "X-Auth-Email": "grace@example.com",
    "X-Auth-Email-Verified": "true",
    "X_Auth_User_Id": FORGED_ID,  # the CGI spelling: WSGI folds both into HTTP_X_AUTH_USER_ID
    "X_Auth_Email": "grace@example.com",
}

# The route the test adds to each example: the identity headers that reached the application.
_SERVED = {
    "aiohttp": """
import os
from aiohttp import web
from coatcheck.protect import requires_session
from shop_over_http import make_app

@requires_session
async def headers(request):
    names = [name.lower() for name in request.headers]
    return web.json_response([name for name in names if name.startswith(("x-auth", "x_auth"))])

app = make_app(os.environ["COATCHECK_URL"])
app.router.add_get("/orders/headers", headers)
web.run_app(app, host="127.0.0.1", port=int(os.environ["PORT"]))
""",
    "starlette": """
from starlette.responses import JSONResponse
from starlette.routing import Route
from shop_starlette import app

async def headers(request):
    names = [name.decode() for name, _ in request.scope["headers"]]
    return JSONResponse([name for name in names if name.startswith(("x-auth", "x_auth"))])

app.router.routes.append(Route("/orders/headers", headers))
""",
    "fastapi": """
from fastapi import Request
from shop_fastapi import app

@app.get("/orders/headers")
async def headers(request: Request) -> list[str]:
    names = [name.decode() for name, _ in request.scope["headers"]]
    return [name for name in names if name.startswith(("x-auth", "x_auth"))]
""",
    "flask": """
from flask import request
from shop_flask import app

@app.get("/orders/headers")
def headers():
    return [name for name in request.environ if name.startswith("HTTP_X_AUTH")]
""",
}
STACKS = list(_SERVED)
DANGEROUS = ("--header-map", "dangerous")


def _command(stack: str, port: int) -> list[str]:
    address = f"127.0.0.1:{port}"
    if stack == "aiohttp":
        return [sys.executable, "served_aiohttp.py"]
    if stack == "flask":
        # --header-map dangerous: gunicorn lets X_Auth_* through, as some servers do, so
        # that the guard's own dropping of them is what the test sees.
        return [str(BIN / "gunicorn"), "served_flask:app", "--bind", address, *DANGEROUS]
    return [str(BIN / "uvicorn"), f"served_{stack}:app", "--port", str(port), "--lifespan", "on"]


@pytest.fixture(scope="module")
def coatcheck(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`coatcheck serve` on its embedded store, renewing sessions every second; Ada
    registered."""
    for base in coatcheck_serve(tmp_path_factory.mktemp("coatcheck"), SESSION_TOUCH_INTERVAL="1"):
        registered = httpx.post(base + "/authentication/register", json=REGISTRATION)
        assert registered.status_code == 201, registered.text
        yield base


@frozen
class Shop:
    stack: str
    url: str  # the protected application, its coatcheck live
    orphan: str  # the same application, its coatcheck unreachable
    coatcheck: str

    def get(self, path: str, ticket: str | None = None, **headers: str) -> httpx.Response:
        if ticket is not None:
            headers["Cookie"] = f"{COOKIE}={ticket}"
        return httpx.get(self.url + path, headers=headers, timeout=TIMEOUT)

    def log_in(self, remember: bool = False) -> str:
        """A new session of Ada's, straight from coatcheck: its ticket."""
        body = CREDENTIALS | {"remember": remember}
        response = httpx.post(self.coatcheck + "/authentication/log-in", json=body)
        assert response.status_code == 200, response.text
        return response.cookies[COOKIE]

    def coatcheck_call(self, method: str, path: str, ticket: str) -> httpx.Response:
        cookie = {"Cookie": f"{COOKIE}={ticket}"}
        return httpx.request(method, self.coatcheck + path, headers=cookie, timeout=TIMEOUT)


@pytest.fixture(scope="module", params=STACKS)
def shop(
    request: pytest.FixtureRequest, coatcheck: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Shop]:
    stack = request.param
    folder = tmp_path_factory.mktemp(stack)
    write_examples(folder)
    (folder / f"served_{stack}.py").write_text(_SERVED[stack])
    port, orphan_port = unused_port(), unused_port()
    env = {"PYTHONPATH": str(folder)}
    live = serve(
        _command(stack, port),
        port,
        folder,
        env | {"COATCHECK_URL": coatcheck, "PORT": str(port)},
        folder / "live.log",
    )
    orphaned = serve(
        _command(stack, orphan_port),
        orphan_port,
        folder,
        env | {"COATCHECK_URL": f"http://127.0.0.1:{unused_port()}", "PORT": str(orphan_port)},
        folder / "orphan.log",
    )
    for url in live:
        for orphan in orphaned:
            yield Shop(stack, url, orphan, coatcheck)


def test_without_a_session_a_guarded_path_is_401_and_what_is_not_guarded_is_served(
    shop: Shop,
) -> None:
    refused = shop.get("/orders")
    dead = shop.get("/orders", "A" * 43)
    home = shop.get("/")

    assert refused.status_code == dead.status_code == 401
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    assert refused.json()["type"] == "urn:coatcheck:problem:not-authenticated"
    assert home.status_code == 200


def test_the_asgi_and_wsgi_guards_protect_every_path_and_aiohttp_s_only_the_marked_ones(
    shop: Shop,
) -> None:
    unknown = shop.get("/no/such/path")

    # Before routing, the ASGI and WSGI guards know no route: every path is closed unless
    # public. aiohttp's middleware sees the route (none here) and leaves it to aiohttp.
    assert unknown.status_code == (404 if shop.stack == "aiohttp" else 401)


def test_a_live_cookie_or_token_gives_the_application_its_user(shop: Shop) -> None:
    ticket = shop.log_in()
    who = shop.coatcheck_call("GET", "/authentication", ticket).json()
    token = httpx.post(shop.coatcheck + "/authentication/token", json=CREDENTIALS).json()["token"]

    by_cookie = shop.get("/orders", ticket)
    by_token = shop.get("/orders", Authorization=f"Bearer {token}")

    assert by_cookie.status_code == by_token.status_code == 200
    assert by_cookie.json() | by_token.json() == {
        "for": REGISTRATION["email"],
        "userId": who["id"],
        "emailVerified": False,
        "orders": [],
    }


def test_identity_headers_of_either_spelling_never_reach_the_application(shop: Shop) -> None:
    ticket = shop.log_in()

    alone = shop.get("/orders", **FORGED)
    orders = shop.get("/orders", ticket, **FORGED)
    seen = shop.get("/orders/headers", ticket, **FORGED)

    assert alone.status_code == 401
    assert orders.json()["for"] == REGISTRATION["email"]
    assert orders.json()["userId"] != FORGED_ID
    assert seen.status_code == 200
    assert seen.json() == []


def test_a_revoked_session_is_refused_at_once_and_its_cookie_cleared(shop: Shop) -> None:
    stolen, own = shop.log_in(), shop.log_in()
    assert shop.get("/orders", stolen).status_code == 200
    listed = shop.coatcheck_call("GET", "/authentication/sessions", stolen).json()
    (stolen_id,) = [session["id"] for session in listed if session["current"]]

    revoked = shop.coatcheck_call("DELETE", f"/authentication/sessions/{stolen_id}", own)
    after = shop.get("/orders", stolen)

    assert revoked.status_code == 204
    assert after.status_code == 401
    assert f"{COOKIE}=" in after.headers["Set-Cookie"]
    assert "Max-Age=0" in after.headers["Set-Cookie"]
    assert shop.get("/orders", own).status_code == 200


def test_a_renewed_session_s_cookie_reaches_the_client(shop: Shop) -> None:
    ticket = shop.log_in(remember=True)
    time.sleep(2.05)  # past the touch interval of a second, counted in whole seconds
    # (That a request within the interval gets no cookie is test_protect.py's, on a fake
    # clock: here, with real seconds, a busy machine may straddle one.)

    renewed = shop.get("/orders", ticket)

    assert renewed.status_code == 200
    assert renewed.cookies[COOKIE] == ticket
    assert f"Max-Age={30 * 24 * 60 * 60}" in renewed.headers["Set-Cookie"]
    assert renewed.headers["Cache-Control"] == "no-store"


def test_coatcheck_unreachable_is_a_503_with_retry_after(shop: Shop) -> None:
    ticket = shop.log_in()
    started = time.monotonic()

    response = httpx.get(shop.orphan + "/orders", headers={"Cookie": f"{COOKIE}={ticket}"})

    assert time.monotonic() - started < 2
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.json()["type"] == "urn:coatcheck:problem:store-unavailable"


@pytest.mark.parametrize("shop", ["fastapi"], indirect=True)  # its example has a WebSocket
def test_the_asgi_guard_refuses_a_websocket_before_accepting_it(shop: Shop) -> None:
    url = shop.url.replace("http:", "ws:") + "/orders/live"
    ticket = shop.log_in()

    with pytest.raises(InvalidStatus) as refused:
        connect(url, additional_headers=FORGED, open_timeout=10).close()
    with connect(
        url, additional_headers={"Cookie": f"{COOKIE}={ticket}"}, open_timeout=10
    ) as socket:
        message = socket.recv(timeout=10)

    assert refused.value.response.status_code == 401
    assert json.loads(message) == {"for": REGISTRATION["email"], "orders": []}


@pytest.mark.parametrize("shop", ["starlette"], indirect=True)  # its orders: lifespan state
def test_the_asgi_guard_passes_lifespan_through(shop: Shop) -> None:
    ticket = shop.log_in()

    response = shop.get("/orders", ticket)

    assert response.status_code == 200
    assert response.json()["orders"] == []  # request.state.orders, set by the lifespan
