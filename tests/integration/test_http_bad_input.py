"""Whatever a client sends, it gets a 4xx problem+json, never a 500, never its password back."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from aiohttp import ClientResponse
from attrs import frozen

from tests.integration.conftest import REGISTRATION, Client, MakeClient, MakeSettings

PROBLEM_JSON = "application/problem+json"
SECRET = "Sw0rdfish-never-echo"  # every password sent below contains it
LONG_PASSWORD = SECRET + "x" * (73 - len(SECRET))  # 73 bytes: one more than bcrypt reads
LONG_WIDE_PASSWORD = "ü" * 36 + "!"  # 37 characters but 73 UTF-8 bytes
HUGE_EMAIL = "a" * 5000 + "@example.com"
MAX_BODY_BYTES = 16 * 1024


@frozen
class Route:
    name: str
    path: str
    body: dict[str, Any]
    logged_in: bool = False

    @property
    def strings(self) -> list[str]:
        return [key for key, value in self.body.items() if isinstance(value, str)]

    @property
    def passwords(self) -> list[str]:
        return [key for key in self.strings if "assword" in key]


ROUTES = [
    Route(
        "register",
        "/authentication/register",
        {"email": "grace@example.com", "name": "Grace Hopper", "password": SECRET},
    ),
    Route(
        "log-in",
        "/authentication/log-in",
        {"email": REGISTRATION["email"], "password": SECRET, "remember": False},
    ),
    Route(
        "token",
        "/authentication/token",
        {"email": REGISTRATION["email"], "password": SECRET, "remember": False},
    ),
    Route(
        "change-password",
        "/authentication/change-password",
        {"currentPassword": SECRET, "newPassword": SECRET + "-new"},
        logged_in=True,
    ),
]


def routes_with(field: str) -> list[Route]:
    return [route for route in ROUTES if field in route.body]


def route_id(route: Route) -> str:
    return route.name


@pytest.fixture(params=ROUTES, ids=route_id)
async def route(request: pytest.FixtureRequest, client: Client) -> Route:
    """Each POST route with a body; the user exists, and is logged in where the route needs it."""
    registered = await client.post("/authentication/register", json=REGISTRATION)
    assert registered.status == 201
    chosen: Route = request.param
    if not chosen.logged_in:
        client.session.cookie_jar.clear()
    return chosen


async def post_raw(client: Client, route: Route, raw: Any) -> ClientResponse:
    return await client.post(route.path, data=raw, headers={"Content-Type": "application/json"})


def strings_in(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.items() for part in item for text in strings_in(part)]
    if isinstance(value, list):
        return [text for item in value for text in strings_in(item)]
    return []


async def assert_problem(response: ClientResponse, status: int) -> dict[str, Any]:
    """A problem+json of this status that echoes no password."""
    text = await response.text()
    assert response.status == status, text
    assert response.content_type == PROBLEM_JSON
    problem: dict[str, Any] = json.loads(text)
    assert isinstance(problem["type"], str)
    assert problem["type"]
    assert isinstance(problem["title"], str)
    assert problem["status"] == status
    assert isinstance(problem["detail"], str)
    for sent in (SECRET, LONG_WIDE_PASSWORD):
        assert sent not in text
        assert not any(sent in found for found in strings_in(problem))
    return problem


async def assert_invalid(response: ClientResponse, *fields: str) -> list[dict[str, str]]:
    """A 400 validation problem with per-field errors naming at least these fields."""
    problem = await assert_problem(response, 400)
    errors: list[dict[str, str]] = problem["errors"]
    assert errors
    assert all(set(error) == {"field", "message"} for error in errors)
    assert all(error["message"] for error in errors)
    assert set(fields) <= {error["field"] for error in errors}
    return errors


def without(body: dict[str, Any], field: str) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key != field}


# --- bodies that are not a JSON object ------------------------------------------------------

NOT_AN_OBJECT = {
    "malformed-json": b'{"email": "ada@example.com", "password": "' + SECRET.encode(),
    "bare-word-password": b'{"password": ' + SECRET.encode() + b"}",
    "trailing-comma": b'{"email": "ada@example.com",}',
    "json-array": json.dumps([SECRET]).encode(),
    "json-string": json.dumps(SECRET).encode(),
    "json-number": b"42",
    "json-null": b"null",
    "bad-utf8": b'{"email": "\xff\xfe@example.com", "password": "' + SECRET.encode() + b'"}',
    "deeply-nested": b'{"email": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    "lone-surrogate": b'{"email": "\\ud800@example.com", "password": "x"}',
}


@pytest.mark.parametrize("raw", NOT_AN_OBJECT.values(), ids=NOT_AN_OBJECT.keys())
async def test_a_body_that_is_not_a_json_object_is_400_with_errors(
    client: Client, route: Route, raw: bytes
) -> None:
    await assert_invalid(await post_raw(client, route, raw))


async def test_a_key_given_twice_is_400_naming_it(client: Client, route: Route) -> None:
    field = route.strings[0]
    body = json.dumps(route.body)[:-1] + f", {json.dumps(field)}: {json.dumps(route.body[field])}}}"

    await assert_invalid(await post_raw(client, route, body.encode()), field)


async def test_an_unknown_key_given_twice_is_400_naming_no_key_of_the_senders(
    client: Client, route: Route
) -> None:
    body = json.dumps(route.body)[:-1] + ', "\u202enote": 1, "\u202enote": 2}'

    errors = await assert_invalid(await post_raw(client, route, body.encode()), "body")
    assert all("note" not in error["field"] for error in errors)


async def test_an_empty_body_is_400_naming_every_required_field(
    client: Client, route: Route
) -> None:
    required = [key for key in route.body if key != "remember"]

    await assert_invalid(await post_raw(client, route, b""), *required)


async def test_an_empty_object_is_400_naming_every_required_field(
    client: Client, route: Route
) -> None:
    required = [key for key in route.body if key != "remember"]

    await assert_invalid(await client.post(route.path, json={}), *required)


async def test_each_missing_field_is_400_naming_it(client: Client, route: Route) -> None:
    for field in route.body:
        if field == "remember":
            continue
        response = await client.post(route.path, json=without(route.body, field))

        await assert_invalid(response, field)


@pytest.mark.parametrize("wrong", [0, 12.5, True, None, [], ["ada@example.com"], {}], ids=repr)
async def test_a_string_field_of_another_type_is_400_naming_it(
    client: Client, route: Route, wrong: object
) -> None:
    for field in route.strings:
        response = await client.post(route.path, json=route.body | {field: wrong})

        await assert_invalid(response, field)


@pytest.mark.parametrize("route", routes_with("remember"), ids=route_id, indirect=True)
@pytest.mark.parametrize("wrong", ["yes", "true", 1, None, []], ids=repr)
async def test_remember_that_is_not_a_boolean_is_400_naming_it(
    client: Client, route: Route, wrong: object
) -> None:
    response = await client.post(route.path, json=route.body | {"remember": wrong})

    await assert_invalid(response, "remember")


@pytest.mark.parametrize("password", [LONG_PASSWORD, LONG_WIDE_PASSWORD], ids=["ascii", "wide"])
async def test_a_password_over_72_bytes_is_400_naming_it_and_never_echoed(
    client: Client, route: Route, password: str
) -> None:
    assert len(password.encode()) == 73
    for field in route.passwords:
        response = await client.post(route.path, json=route.body | {field: password})

        errors = await assert_invalid(response, field)
        assert any("72" in error["message"] for error in errors if error["field"] == field)
        assert password not in await response.text()


@pytest.mark.parametrize("route", routes_with("email"), ids=route_id, indirect=True)
async def test_a_huge_email_is_400_naming_it(client: Client, route: Route) -> None:
    response = await client.post(route.path, json=route.body | {"email": HUGE_EMAIL})

    await assert_invalid(response, "email")
    assert "a" * 100 not in await response.text()


async def test_a_body_over_max_body_bytes_is_413(client: Client, route: Route) -> None:
    padding = "x" * MAX_BODY_BYTES
    raw = json.dumps(route.body | {"padding": padding}).encode()
    assert len(raw) > MAX_BODY_BYTES

    problem = await assert_problem(await post_raw(client, route, raw), 413)

    assert padding not in json.dumps(problem)


async def test_a_body_far_over_max_body_bytes_is_413(client: Client, route: Route) -> None:
    raw = json.dumps(route.body | {"padding": "x" * 2_000_000}).encode()

    await assert_problem(await post_raw(client, route, io.BytesIO(raw)), 413)


async def test_a_chunked_body_over_max_body_bytes_is_413(client: Client, route: Route) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield json.dumps(route.body)[:-1].encode() + b', "padding": "'
        for _ in range(MAX_BODY_BYTES // 1024 + 1):
            yield b"x" * 1024
        yield b'"}'

    await assert_problem(await post_raw(client, route, chunks()), 413)


async def test_a_body_of_exactly_max_body_bytes_is_not_413(client: Client, route: Route) -> None:
    raw = json.dumps(route.body | {"padding": ""}).encode()
    raw = raw[:-2] + b"x" * (MAX_BODY_BYTES - len(raw)) + raw[-2:]
    assert len(raw) == MAX_BODY_BYTES

    response = await post_raw(client, route, raw)

    assert response.status != 413
    assert response.status < 500


# --- routes, methods and credentials --------------------------------------------------------


async def test_an_unknown_route_is_404_problem(client: Client) -> None:
    problem = await assert_problem(await client.get("/no/such/route"), 404)

    assert problem["title"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/authentication/log-in"),
        ("GET", "/authentication/register"),
        ("PUT", "/authentication"),
        ("DELETE", "/authentication/token"),
        ("POST", "/authentication/sessions"),
    ],
)
async def test_a_wrong_method_is_405_problem_with_allow(
    client: Client, method: str, path: str
) -> None:
    response = await client.request(method, path)

    await assert_problem(response, 405)
    assert response.headers["Allow"]
    assert method not in response.headers["Allow"].split(",")


@pytest.mark.parametrize(
    "authorization",
    ["Bearer junk", "Bearer " + "A" * 43, "Bearer ", "Bearer a b c", "Basic YWRhOnB3"],
)
async def test_a_junk_authorization_header_is_401(client: Client, authorization: str) -> None:
    await client.post("/authentication/register", json=REGISTRATION)
    client.session.cookie_jar.clear()

    response = await client.get("/authentication", headers={"Authorization": authorization})

    await assert_problem(response, 401)


@pytest.mark.parametrize(
    "cookie",
    ["junk", "A" * 43, "", "%00%ff", "a" * 4000],
    ids=["word", "shaped", "empty", "esc", "long"],
)
async def test_a_junk_cookie_is_401_and_cleared(client: Client, cookie: str) -> None:
    await client.post("/authentication/register", json=REGISTRATION)
    client.session.cookie_jar.clear()

    response = await client.get("/authentication", headers={"Cookie": f"coatcheck={cookie}"})

    await assert_problem(response, 401)
    if cookie:
        assert response.cookies["coatcheck"]["max-age"] == "0"


async def test_change_password_without_a_ticket_is_401_whatever_the_body(client: Client) -> None:
    response = await post_raw(client, ROUTES[3], b"not json at all")

    await assert_problem(response, 401)


# --- concurrency ----------------------------------------------------------------------------


async def test_concurrent_registrations_of_one_email_make_exactly_one_user(
    make_client: MakeClient, shared_settings: MakeSettings, postgres_dsn: str
) -> None:
    # More registrations than one address may make in an hour: the throttle is not the test.
    client = await make_client(shared_settings(register_throttle=False))

    async def register(attempt: int) -> int:
        email = REGISTRATION["email"] if attempt % 2 else REGISTRATION["email"].upper()
        body = REGISTRATION | {"email": email, "name": f"Ada {attempt}"}
        response = await client.post("/authentication/register", json=body)
        if response.status != 201:
            await assert_problem(response, 409)
        return response.status

    statuses = await asyncio.gather(*(register(attempt) for attempt in range(20)))

    assert sorted(statuses) == [201] + [409] * 19
    connection = await asyncpg.connect(postgres_dsn)
    try:
        count = await connection.fetchval(
            "SELECT count(*) FROM users WHERE lower(email) = lower($1)", REGISTRATION["email"]
        )
        total = await connection.fetchval("SELECT count(*) FROM users")
    finally:
        await connection.close()
    assert count == total == 1
