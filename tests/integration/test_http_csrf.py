"""The Origin check: a browser's unsafe request must come from the service's own origin or
an allowed one; requests with no browser headers (curl) and bearer requests pass."""

from __future__ import annotations

import json

import pytest
from aiohttp import ClientResponse

from tests.integration.conftest import CREDENTIALS, REGISTRATION, Client, MakeClient, MakeSettings
from tests.integration.http import bearer

NEW_PASSWORD = {"currentPassword": "correct horse", "newPassword": "another horse"}
FOREIGN = "https://evil.example"
SECOND_USER = {"email": "grace@example.com", "name": "Grace Hopper", "password": "cobol rules"}
UNSAFE = [
    ("POST", "/authentication/log-in", CREDENTIALS),
    ("POST", "/authentication/register", SECOND_USER),
    ("POST", "/authentication/log-out", None),
    ("POST", "/authentication/change-password", NEW_PASSWORD),
    ("DELETE", "/authentication/sessions", None),
    ("DELETE", "/authentication/sessions/some-id", None),
]


def own_origin(client: Client) -> str:
    return f"http://{client.host}:{client.port}"


async def logged_in(client: Client) -> str:
    """Register (the client's jar keeps the cookie); return the user's id."""
    response = await client.post("/authentication/register", json=REGISTRATION)
    assert response.status == 201
    return str((await response.json())["id"])


async def assert_refused_as_cross_site(response: ClientResponse) -> None:
    assert response.status == 403
    assert response.content_type == "application/problem+json"
    problem = await response.json()
    assert problem["type"] == "urn:coatcheck:problem:cross-site-request"
    assert problem["status"] == 403
    assert "Set-Cookie" not in response.headers  # a refused request does not log anyone out


async def assert_nothing_happened(client: Client, user_id: str) -> None:
    """Still logged in with the same session, the password unchanged, no second user."""
    me = await client.get("/authentication")
    assert me.status == 200
    assert (await me.json())["id"] == user_id
    assert len(await (await client.get("/authentication/sessions")).json()) == 1
    client.session.cookie_jar.clear()
    assert (await client.post("/authentication/token", json=CREDENTIALS)).status == 200
    absent = await client.post("/authentication/token", json=SECOND_USER)
    assert absent.status == 401


async def assert_refused_without_effect(
    client: Client, method: str, path: str, body: dict[str, str] | None, headers: dict[str, str]
) -> None:
    """Logged in, this request is refused as cross-site and changes nothing."""
    user_id = await logged_in(client)

    response = await client.request(method, path, json=body, headers=headers)

    await assert_refused_as_cross_site(response)
    await assert_nothing_happened(client, user_id)


@pytest.mark.parametrize(("method", "path", "body"), UNSAFE)
async def test_cross_site_request_with_a_foreign_origin_is_refused(
    client: Client, method: str, path: str, body: dict[str, str] | None
) -> None:
    await assert_refused_without_effect(client, method, path, body, {"Origin": FOREIGN})


@pytest.mark.parametrize(("method", "path", "body"), UNSAFE)
async def test_cross_site_request_without_origin_is_refused_on_sec_fetch_site(
    client: Client, method: str, path: str, body: dict[str, str] | None
) -> None:
    await assert_refused_without_effect(
        client, method, path, body, {"Sec-Fetch-Site": "cross-site"}
    )


@pytest.mark.parametrize(("method", "path", "body"), UNSAFE)
async def test_opaque_null_origin_is_refused(
    client: Client, method: str, path: str, body: dict[str, str] | None
) -> None:
    await assert_refused_without_effect(client, method, path, body, {"Origin": "null"})


async def test_origin_on_the_same_host_but_another_port_is_foreign(client: Client) -> None:
    await logged_in(client)

    response = await client.post(
        "/authentication/log-out", headers={"Origin": f"http://{client.host}:1"}
    )

    await assert_refused_as_cross_site(response)


async def run_every_unsafe_request(client: Client, headers: dict[str, str]) -> list[int]:
    """Register, log in, change the password, revoke the others, revoke this one, log in,
    log out: every unsafe endpoint once, with the given headers; their statuses."""
    statuses = []
    registered = await client.post("/authentication/register", json=REGISTRATION, headers=headers)
    statuses.append(registered.status)
    responses = [
        await client.post("/authentication/log-in", json=CREDENTIALS, headers=headers),
        await client.post("/authentication/change-password", json=NEW_PASSWORD, headers=headers),
        await client.delete("/authentication/sessions", headers=headers),
    ]
    sessions = await (await client.get("/authentication/sessions")).json()
    own = next(session["id"] for session in sessions if session["current"])
    responses.append(await client.delete(f"/authentication/sessions/{own}", headers=headers))
    again = CREDENTIALS | {"password": NEW_PASSWORD["newPassword"]}
    responses.append(await client.post("/authentication/log-in", json=again, headers=headers))
    responses.append(await client.post("/authentication/log-out", headers=headers))
    return statuses + [response.status for response in responses]


EVERY_UNSAFE_REQUEST_PASSED = [201, 200, 204, 204, 204, 200, 204]


async def test_same_origin_requests_pass(client: Client) -> None:
    statuses = await run_every_unsafe_request(client, {"Origin": own_origin(client)})

    assert statuses == EVERY_UNSAFE_REQUEST_PASSED


async def test_same_origin_requests_pass_with_sec_fetch_site(client: Client) -> None:
    headers = {"Origin": own_origin(client), "Sec-Fetch-Site": "same-origin"}

    assert await run_every_unsafe_request(client, headers) == EVERY_UNSAFE_REQUEST_PASSED


@pytest.mark.parametrize("site", ["same-origin", "same-site", "none"])
async def test_request_without_origin_and_not_cross_site_passes(client: Client, site: str) -> None:
    statuses = await run_every_unsafe_request(client, {"Sec-Fetch-Site": site})

    assert statuses == EVERY_UNSAFE_REQUEST_PASSED


async def test_request_without_origin_or_sec_fetch_site_passes_like_curl(client: Client) -> None:
    assert await run_every_unsafe_request(client, {}) == EVERY_UNSAFE_REQUEST_PASSED


@pytest.mark.parametrize("origin", ["https://app.example.com", "https://admin.example.com"])
async def test_origin_in_allowed_origins_passes(
    make_client: MakeClient, shared_settings: MakeSettings, origin: str
) -> None:
    settings = shared_settings(allowed_origins="https://app.example.com, https://admin.example.com")
    client = await make_client(settings)

    statuses = await run_every_unsafe_request(client, {"Origin": origin})

    assert statuses == EVERY_UNSAFE_REQUEST_PASSED


@pytest.mark.parametrize(
    "origin",
    [
        "http://app.example.com",  # another scheme
        "https://app.example.com:8443",  # another port
        "https://evil.app.example.com",  # a subdomain
        "https://app.example.com.evil.example",  # a suffix
    ],
)
async def test_origin_close_to_an_allowed_one_is_refused(
    make_client: MakeClient, shared_settings: MakeSettings, origin: str
) -> None:
    client = await make_client(shared_settings(allowed_origins=["https://app.example.com"]))

    await assert_refused_without_effect(
        client, "POST", "/authentication/log-out", None, {"Origin": origin}
    )


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("path", ["/authentication", "/authentication/sessions", "/health/live"])
async def test_safe_requests_are_never_refused(client: Client, method: str, path: str) -> None:
    await logged_in(client)
    headers = {"Origin": FOREIGN, "Sec-Fetch-Site": "cross-site"}

    response = await client.request(method, path, headers=headers)

    assert response.status == 200


async def test_bearer_request_with_a_foreign_origin_is_not_refused(client: Client) -> None:
    await logged_in(client)
    client.session.cookie_jar.clear()
    token = (await (await client.post("/authentication/token", json=CREDENTIALS)).json())["token"]
    foreign = {"Origin": FOREIGN, "Sec-Fetch-Site": "cross-site"}

    changed = await client.post(
        "/authentication/change-password", json=NEW_PASSWORD, headers=foreign | bearer(token)
    )
    assert changed.status == 200
    token = (await changed.json())["token"]
    revoked = await client.delete("/authentication/sessions", headers=foreign | bearer(token))
    assert revoked.status == 204
    logged_out = await client.post("/authentication/log-out", headers=foreign | bearer(token))
    assert logged_out.status == 204
    assert (await client.get("/authentication", headers=foreign | bearer(token))).status == 401


async def test_a_bearer_header_does_not_let_a_cross_site_request_use_the_cookie(
    client: Client,
) -> None:
    user_id = await logged_in(client)
    headers = {"Origin": FOREIGN, "Authorization": "Bearer " + "A" * 43}

    for method, path, body in UNSAFE[2:]:
        response = await client.request(method, path, json=body, headers=headers)
        assert response.status in {204, 401}, (method, path)  # the cookie was not used

    await assert_nothing_happened(client, user_id)


# A page on any site can send these without a preflight: a form, or fetch() with no-cors.
SIMPLE_CONTENT_TYPES = {
    "text-plain": "text/plain",
    "form": "application/x-www-form-urlencoded",
    "multipart": "multipart/form-data; boundary=x",
    "none": None,
}
JSON_ROUTES = [
    ("/authentication/log-in", CREDENTIALS),
    ("/authentication/register", SECOND_USER),
    ("/authentication/change-password", NEW_PASSWORD),
    ("/authentication/token", CREDENTIALS),
]


@pytest.mark.parametrize(("path", "body"), JSON_ROUTES)
@pytest.mark.parametrize("content_type", SIMPLE_CONTENT_TYPES.values(), ids=SIMPLE_CONTENT_TYPES)
async def test_a_simple_request_without_browser_headers_is_refused_415_without_effect(
    client: Client, path: str, body: dict[str, str], content_type: str | None
) -> None:
    user_id = await logged_in(client)
    headers = {} if content_type is None else {"Content-Type": content_type}

    response = await client.post(path, data=json.dumps(body).encode(), headers=headers)

    assert response.status == 415
    assert response.content_type == "application/problem+json"
    problem = await response.json()
    assert problem["type"] == "urn:coatcheck:problem:unsupported-media-type"
    assert problem["status"] == 415
    assert "Set-Cookie" not in response.headers
    await assert_nothing_happened(client, user_id)


async def test_json_with_a_charset_is_json(client: Client) -> None:
    response = await client.post(
        "/authentication/register",
        data=json.dumps(REGISTRATION).encode(),
        headers={"Content-Type": "Application/JSON; charset=UTF-8"},
    )

    assert response.status == 201


async def test_log_out_takes_no_body_and_so_any_content_type(client: Client) -> None:
    await logged_in(client)

    response = await client.post(
        "/authentication/log-out", data=b"x=1", headers={"Content-Type": "text/plain"}
    )

    assert response.status == 204
