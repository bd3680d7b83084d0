"""coatcheck.protect's framework-free part: every guard refuses as coatcheck itself does,
drops identity headers in either spelling, reads verify's answer and public paths alike."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from aiohttp import web
from fastapi import FastAPI

from coatcheck.domain.errors import NotAuthenticated, StoreUnavailable
from coatcheck.entrypoints.http.identity import EMAIL, EMAIL_VERIFIED, SESSION_ID, USER_ID
from coatcheck.entrypoints.http.problems import kind_of, problem
from coatcheck.protect import AsgiGuard, Caller, identity, protect, requires_session
from coatcheck.protect.refusals import NOT_AUTHENTICATED, UNAVAILABLE, Refusal
from coatcheck.protect.verify import Checked, Unavailable, checked_of, is_identity_header, is_public

SOUND = {
    USER_ID: "8a5c9e3e-2247-4d87-87cf-b15e71d67a48",
    EMAIL: "ada%C3%AB@example.com",
    SESSION_ID: "88a44f35896f9be0",
    EMAIL_VERIFIED: "true",
}


@pytest.mark.parametrize(
    ("refusal", "error", "detail", "extra"),
    [
        (NOT_AUTHENTICATED, NotAuthenticated, str(NotAuthenticated()), None),
        (UNAVAILABLE, StoreUnavailable, "the session could not be checked", {"Retry-After": "1"}),
    ],
)
def test_a_guard_refuses_byte_for_byte_as_coatcheck_does(
    refusal: Refusal, error: type[Exception], detail: str, extra: dict[str, str] | None
) -> None:
    own = problem(kind_of(error), detail, extra)
    headers = dict(refusal.headers)

    assert refusal.status == own.status
    assert refusal.body == own.body
    assert json.loads(refusal.body)["detail"] == detail
    assert headers["Content-Type"] == own.headers["Content-Type"]
    assert headers["Cache-Control"] == "no-store"
    assert headers.get("Retry-After") == own.headers.get("Retry-After")


@pytest.mark.parametrize(
    "name", ["X-Auth-User-Id", "x-auth-email", "X_Auth_User_Id", "x_auth_anything", "X-AUTH-"]
)
def test_identity_headers_are_known_in_either_spelling_and_any_case(name: str) -> None:
    assert is_identity_header(name)


@pytest.mark.parametrize("name", ["Authorization", "Cookie", "X-Authorization", "X-Auth"])
def test_other_headers_are_not_identity_headers(name: str) -> None:
    assert not is_identity_header(name)


@pytest.mark.parametrize(
    ("path", "public"),
    [("/", True), ("/orders", False), ("/static/app.js", True), ("/static", False)],
)
def test_a_public_path_is_listed_exactly_or_under_a_starred_prefix(path: str, public: bool) -> None:
    assert is_public(path, ["/", "/static/*"]) is public


def test_a_sound_200_is_the_identity_and_a_401_is_no_one() -> None:
    found = checked_of(200, SOUND, ["coatcheck=t; Max-Age=60"])
    nobody = checked_of(401, {}, ["coatcheck=; Max-Age=0"])

    assert found.identity is not None
    assert (found.identity.email, found.identity.email_verified) == ("adaë@example.com", True)
    assert found.set_cookies == ("coatcheck=t; Max-Age=60",)
    assert nobody.identity is None
    assert nobody.set_cookies == ("coatcheck=; Max-Age=0",)


@pytest.mark.parametrize(
    ("status", "headers"),
    [(200, {}), (200, SOUND | {USER_ID: "nope"}), (204, SOUND), (302, SOUND), (503, {})],
)
def test_any_other_answer_is_unavailable_never_a_pass(status: int, headers: dict[str, str]) -> None:
    with pytest.raises(Unavailable):
        checked_of(status, headers, [])


async def test_fastapi_s_caller_is_a_401_where_the_guard_found_no_one() -> None:
    app = FastAPI()
    app.add_middleware(AsgiGuard, coatcheck_url="http://127.0.0.1:9", public=["/public"])

    @app.get("/public")
    async def public(who: Caller) -> str:
        return who.email

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://shop") as client:
        response = await client.get("/public", headers={"X-Auth-Email": "grace@example.com"})

    assert response.status_code == 401


class _Orders(web.View):
    @requires_session
    async def get(self) -> web.Response:
        return web.json_response({"orders": [], "email": identity(self.request).email})

    async def post(self) -> web.Response:  # not marked: open
        return web.json_response({"open": True})


@requires_session
class _Invoices(web.View):
    async def get(self) -> web.Response:
        return web.json_response({"invoices": []})


async def _no_one(request: web.BaseRequest) -> Checked:
    return Checked(None)


async def test_a_class_based_view_marked_on_its_method_or_as_a_whole_refuses_no_ticket(
    aiohttp_client: Any,
) -> None:
    app = web.Application(middlewares=[protect(_no_one)])
    app.router.add_view("/orders", _Orders)
    app.router.add_view("/invoices", _Invoices)
    client = await aiohttp_client(app)

    marked_method = await client.get("/orders")
    marked_class = await client.get("/invoices")
    unmarked_method = await client.post("/orders")

    assert (marked_method.status, marked_class.status) == (401, 401)
    assert await marked_method.read() == NOT_AUTHENTICATED.body
    assert unmarked_method.status == 200
