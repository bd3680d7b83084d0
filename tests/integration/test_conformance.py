"""The conformance check of conformance.py is real: it catches answers unlike the document,
and it is on for every app the tests make."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp import web

from coatcheck.entrypoints.http.app import create_app
from coatcheck.entrypoints.http.openapi import document_of
from coatcheck.entrypoints.http.responses import UserOut
from coatcheck.entrypoints.http.routes import Reply, answers
from tests.integration.conformance import NO_ROUTE, Conformance, check
from tests.integration.conftest import Client, MakeSettings
from tests.integration.http import register

JSON = "application/json"
PROBLEM = "application/problem+json"
ADA = {
    "id": "6f1c2a4e-3b7d-4e8f-9a0b-1c2d3e4f5a6b",
    "email": "ada@example.com",
    "name": "Ada Lovelace",
    "createdAt": "2024-05-01T12:00:00.000Z",
    "emailVerified": False,
}


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


@pytest.fixture
def document(embedded_settings: MakeSettings) -> dict[str, Any]:
    return document_of(create_app(embedded_settings()))


def _problem(status: int, slug: str) -> bytes:
    return _json(
        {"type": f"urn:coatcheck:problem:{slug}", "title": "t", "status": status, "detail": "d"}
    )


def test_a_conforming_answer_passes(document: dict[str, Any]) -> None:
    body = _json(ADA)
    assert check(document, "GET", "/authentication", 200, JSON, body) == []
    assert (
        check(document, "GET", "/authentication", 401, PROBLEM, _problem(401, "not-authenticated"))
        == []
    )


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"name": None}, "None is not of type 'string'"),
        ({"id": "42"}, "is not a 'uuid'"),
        ({"createdAt": "2024-05-01T12:00:00Z"}, "does not match"),
        ({"createdAt": "2024-05-01T12:00:00.000+00:00"}, "does not match"),
    ],
)
def test_a_body_unlike_its_schema_is_caught(
    document: dict[str, Any], change: dict[str, Any], complaint: str
) -> None:
    body = _json(ADA | change)
    [violation] = check(document, "GET", "/authentication", 200, JSON, body)
    assert complaint in violation


def test_a_missing_field_is_caught(document: dict[str, Any]) -> None:
    body = b'{"id": "6f1c2a4e-3b7d-4e8f-9a0b-1c2d3e4f5a6b", "email": "ada@example.com"}'
    violations = check(document, "GET", "/authentication", 200, JSON, body)
    assert len(violations) == 3
    assert all("is a required property" in violation for violation in violations)


def test_a_status_the_document_does_not_list_is_caught(document: dict[str, Any]) -> None:
    [violation] = check(
        document, "GET", "/authentication", 409, PROBLEM, _problem(409, "email-taken")
    )
    assert "lists only ['200', '401', '417', '431', '503']" in violation


def test_a_problem_type_the_route_cannot_answer_is_caught(document: dict[str, Any]) -> None:
    [violation] = check(
        document, "POST", "/authentication/log-in", 401, PROBLEM, _problem(401, "not-authenticated")
    )
    assert "is not one of ['urn:coatcheck:problem:invalid-credentials'" in violation


def test_a_wrong_content_type_or_a_stray_body_is_caught(document: dict[str, Any]) -> None:
    body = _json(ADA)
    assert check(document, "GET", "/authentication", 200, "text/plain", body)
    assert check(document, "POST", "/authentication/log-out", 204, JSON, body)
    assert check(document, "GET", "/authentication/nowhere", 200, JSON, body)


def test_answers_of_no_route_are_checked_as_problems(document: dict[str, Any]) -> None:
    assert check(document, "GET", NO_ROUTE, 404, PROBLEM, _problem(404, "not-found")) == []
    assert check(document, "GET", NO_ROUTE, 404, JSON, b"{}")
    assert check(document, "GET", NO_ROUTE, 200, PROBLEM, _problem(200, "ok"))


async def test_every_answer_the_tests_receive_is_checked(
    client: Client, conformance: Conformance
) -> None:
    await register(client)
    await client.get("/authentication")
    await client.head("/authentication")
    await client.get("/no/such/path")
    assert conformance.checked == 4
    for answer in [
        ("POST", "/authentication/register", 201),
        ("GET", "/authentication", 200),
        ("HEAD", "/authentication", 200),
        ("GET", NO_ROUTE, 404),
    ]:
        assert conformance.seen[answer] >= 1


async def test_an_answer_unlike_its_declaration_fails_the_test_that_receives_it(
    aiohttp_client: Any, embedded_settings: MakeSettings, conformance: Conformance
) -> None:
    @answers(Reply(200, "a user", UserOut), authenticates=False, stores=False)
    async def liar(request: web.Request) -> web.Response:
        """Says it answers a user, answers something else."""
        return web.json_response({"id": 42})

    app = create_app(embedded_settings())
    app.router.add_get("/liar", liar)
    conformance.watch(app)
    client = await aiohttp_client(app)
    assert (await client.get("/liar")).status == 200
    assert len(conformance.violations) == 5  # id's type; email, name, createdAt, emailVerified
    conformance.violations.clear()  # caught as it should be: this test passes
