"""One rule for wrong credentials: every route that takes a password answers a wrong one
with 401 (a log-in's `invalid-credentials`, a logged-in caller's `wrong-password`), and the
caller's session goes on. A current password that is missing or not a password at all
(empty, a control character, over 72 bytes) is bad input, 400, like any other field's.
The routes are the ones the OpenAPI document says take a `currentPassword`: a new one is
held to the rule without an edit here."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import CREDENTIALS, Client
from tests.integration.http import register

WRONG = "not my password"
# A valid value for each other field a route with a current password takes.
OTHER_FIELDS = {
    "newPassword": "another horse staple",
    "newEmail": "ada.new@example.com",
    "code": "123456",
}
NOT_A_PASSWORD = {
    "missing": None,
    "empty": "",
    "a control character": "correct\x00horse",
    "over 72 bytes": "é" * 37,
}
# What the README's rule names, by the document's paths: held to the document both ways.
ROUTES = [
    ("POST", "/authentication/change-password"),
    ("POST", "/authentication/change-email"),
    ("DELETE", "/authentication/account"),
    ("DELETE", "/authentication/totp"),
    ("POST", "/authentication/recovery-codes"),
]


def _resolved(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


async def _routes_with_a_current_password(client: Client) -> dict[tuple[str, str], list[str]]:
    """(method, path) -> the body's required fields, for every operation whose body takes
    a `currentPassword`."""
    document = await (await client.get("/openapi.json")).json()
    found = {}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            body = _resolved(document, content["application/json"]["schema"])
            if "currentPassword" in body.get("properties", {}):
                found[(method.upper(), path)] = list(body.get("required", []))
    return found


def _body(required: list[str], current_password: str | None) -> dict[str, str]:
    body = {name: OTHER_FIELDS[name] for name in required if name != "currentPassword"}
    return body if current_password is None else body | {"currentPassword": current_password}


async def test_the_routes_that_take_a_current_password_are_the_ones_the_rule_names(
    client: Client,
) -> None:
    assert sorted(await _routes_with_a_current_password(client)) == sorted(ROUTES)


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[path for _, path in ROUTES])
async def test_a_wrong_current_password_is_401_and_the_session_goes_on(
    mail_client: Client, method: str, path: str
) -> None:
    await register(mail_client)
    required = (await _routes_with_a_current_password(mail_client))[(method, path)]

    answer = await mail_client.request(method, path, json=_body(required, WRONG))

    assert answer.status == 401
    assert answer.content_type == "application/problem+json"
    assert (await answer.json())["type"] == "urn:coatcheck:problem:wrong-password"
    assert (await mail_client.get("/authentication")).status == 200


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[path for _, path in ROUTES])
@pytest.mark.parametrize("given", list(NOT_A_PASSWORD))
async def test_a_current_password_that_is_missing_or_no_password_is_400_naming_it(
    mail_client: Client, method: str, path: str, given: str
) -> None:
    await register(mail_client)
    required = (await _routes_with_a_current_password(mail_client))[(method, path)]

    answer = await mail_client.request(method, path, json=_body(required, NOT_A_PASSWORD[given]))

    assert answer.status == 400
    problem = await answer.json()
    assert problem["type"] == "urn:coatcheck:problem:invalid-request"
    assert [error["field"] for error in problem["errors"]] == ["currentPassword"]
    assert (await mail_client.get("/authentication")).status == 200


@pytest.mark.parametrize("body", [{"password": WRONG}, {}], ids=["wrong", "none"])
async def test_re_authenticating_with_a_wrong_password_or_none_is_401(
    client: Client, body: dict[str, str]
) -> None:
    await register(client)

    answer = await client.post("/authentication/reauthenticate", json=body)

    assert answer.status == 401
    assert (await answer.json())["type"] == "urn:coatcheck:problem:wrong-password"
    assert (await client.get("/authentication")).status == 200


async def test_a_wrong_password_at_log_in_is_401_too(client: Client) -> None:
    await register(client)
    client.session.cookie_jar.clear()

    answer = await client.post("/authentication/log-in", json={**CREDENTIALS, "password": WRONG})

    assert answer.status == 401
    assert (await answer.json())["type"] == "urn:coatcheck:problem:invalid-credentials"
