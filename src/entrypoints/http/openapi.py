"""GET /openapi.json: the OpenAPI 3.1 document of the routes the app serves, generated from
what each handler declares with `@answers` (see `routes`): bodies and replies give their
schemas (the very models that parse and serialise), and the error answers are the problem
table's for the errors a route can meet."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from typing import Any

from aiohttp import web
from pydantic import BaseModel, RootModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, models_json_schema

from coatcheck.domain.model import EmailPolicy
from coatcheck.entrypoints.http.keys import SETTINGS
from coatcheck.entrypoints.http.problems import PROBLEM_JSON, Kind, kind_of
from coatcheck.entrypoints.http.responses import JSON, Problem, json_response
from coatcheck.entrypoints.http.routes import Answers, Reply, answers, answers_of
from coatcheck.entrypoints.http.schemas import STRICTEST_EMAIL_PATTERN, new_email_pattern

routes = web.RouteTableDef()


class OpenApiDocument(RootModel[dict[str, Any]]):
    """An OpenAPI 3.1 document."""


_COOKIE = {"Set-Cookie": {"description": "the session cookie", "schema": {"type": "string"}}}


Operation = tuple[str, str, Answers]  # path template, method, answers

# What a WebSocket handshake (an operation answering 101) must send (RFC 6455 4.1); without
# it the route answers 400.
_HANDSHAKE = [
    {"name": name, "in": "header", "required": True, "schema": schema}
    for name, schema in (
        ("Upgrade", {"type": "string", "enum": ["websocket"]}),
        ("Connection", {"type": "string", "enum": ["Upgrade"]}),
        ("Sec-WebSocket-Version", {"type": "string", "enum": ["13"]}),
        ("Sec-WebSocket-Key", {"type": "string", "pattern": "^[A-Za-z0-9+/]{21}[AQgw]==$"}),
    )
]


def operations(app: web.Application) -> tuple[Operation, ...]:
    """Every declared route of the app. Not aiohttp's own: the HEAD twin of each GET (the
    GET's answers without a body) and, with ALLOWED_ORIGINS, the CORS preflights."""
    found = []
    for route in app.router.routes():
        declared = answers_of(route.handler)
        if declared is not None and route.resource is not None and route.method != "HEAD":
            found.append((route.resource.canonical, route.method, declared))
    return tuple(found)


class _Schemas(GenerateJsonSchema):
    def field_title_should_be_set(self, schema: Any) -> bool:
        return False  # "Createdat" and the like say nothing the property name does not


def _components(
    found: Iterable[Operation],
) -> tuple[dict[type[BaseModel], dict[str, Any]], dict[str, Any]]:
    """Each model's reference, and the components: every body and reply model, with Problem."""
    wanted: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {(Problem, "serialization"): None}
    for _, _, declared in found:
        if declared.body is not None:
            wanted[declared.body, "validation"] = None
        for reply in declared.replies:
            if reply.model is not None:
                wanted[reply.model, "serialization"] = None
    refs, defs = models_json_schema(
        list(wanted),
        by_alias=True,
        ref_template="#/components/schemas/{model}",
        schema_generator=_Schemas,
    )
    models = {model: ref for (model, _), ref in refs.items() if issubclass(model, BaseModel)}
    return models, defs["$defs"]


def _problems(errors: Iterable[type[Exception]], problem: dict[str, Any]) -> dict[str, Any]:
    """The problem answers of these errors, by status, each `type` one of the table's."""
    by_status: dict[int, dict[str, Kind]] = {}
    for error in errors:
        kind = kind_of(error)
        by_status.setdefault(kind.status, {})[kind.slug] = kind
    responses = {}
    for status, kinds in sorted(by_status.items()):
        schema = {
            **problem,
            "properties": {
                "type": {"enum": [kind.type for kind in kinds.values()]},
                "status": {"const": status},
            },
        }
        responses[str(status)] = {
            "description": "; ".join(dict.fromkeys(kind.title for kind in kinds.values())),
            "content": {PROBLEM_JSON: {"schema": schema}},
        }
    return responses


def _either(first: dict[str, Any] | None, second: dict[str, Any]) -> dict[str, Any]:
    """Two answers of one status (a log-in, or the step before its second factor): either
    body, either description; the headers of both (each may be absent)."""
    if first is None:
        return second
    schemas = [answer["content"][JSON]["schema"] for answer in (first, second)]
    merged: dict[str, Any] = {
        "description": f"{first['description']}; or {second['description']}",
        "content": {JSON: {"schema": {"oneOf": schemas}}},
    }
    headers = first.get("headers", {}) | second.get("headers", {})
    if headers:
        merged["headers"] = headers
    return merged


def _operation(
    path: str, method: str, declared: Answers, refs: dict[type[BaseModel], dict[str, Any]]
) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for reply in declared.replies:
        answer: dict[str, Any] = {"description": reply.description}
        if reply.model is not None:
            answer["content"] = {JSON: {"schema": refs[reply.model]}}
        elif reply.media is not None:
            answer["content"] = {reply.media: {"schema": {"type": "string"}}}
        headers = {
            name: {"description": description, "schema": {"type": "string"}}
            for name, description in reply.headers
        }
        if reply.cookie:
            headers |= _COOKIE
        if headers:
            answer["headers"] = headers
        responses[str(reply.status)] = _either(responses.get(str(reply.status)), answer)
    responses |= _problems(declared.errors(method), refs[Problem])
    operation: dict[str, Any] = {"summary": declared.summary, "responses": responses}
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"\{(\w+)\}", path)
    ]
    if any(reply.status == 101 for reply in declared.replies):
        parameters += _HANDSHAKE
    if parameters:
        operation["parameters"] = parameters
    if declared.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {JSON: {"schema": refs[declared.body]}},
        }
    if not declared.authenticates:
        operation["security"] = []
    return operation


def _under_policy(schemas: dict[str, Any], policy: EmailPolicy) -> dict[str, Any]:
    """The components with each new address's pattern that of the deployment's policy (the
    models state the strictest)."""
    pattern = new_email_pattern(policy)

    def field(value: dict[str, Any]) -> dict[str, Any]:
        new_email = value.get("pattern") == STRICTEST_EMAIL_PATTERN
        return {**value, "pattern": pattern} if new_email else value

    return {
        name: {**schema, "properties": {k: field(v) for k, v in schema["properties"].items()}}
        if "properties" in schema
        else schema
        for name, schema in schemas.items()
    }


@cache
def document(
    cookie_name: str, email_policy: EmailPolicy, found: tuple[Operation, ...]
) -> dict[str, Any]:
    refs, schemas = _components(found)
    schemas = _under_policy(schemas, email_policy)
    paths: dict[str, dict[str, Any]] = {}
    for path, method, declared in found:
        paths.setdefault(path, {})[method.lower()] = _operation(path, method, declared, refs)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "coatcheck",
            "version": "0.1.0",
            "description": "Server-side session authentication.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "cookie": {"type": "apiKey", "in": "cookie", "name": cookie_name},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
        },
        "security": [{"cookie": []}, {"bearer": []}],
    }


def document_of(app: web.Application) -> dict[str, Any]:
    settings = app[SETTINGS]
    return document(settings.cookie_full_name, settings.email_policy(), operations(app))


@routes.get("/openapi.json")
@answers(Reply(200, "OpenAPI 3.1", OpenApiDocument), authenticates=False, stores=False)
async def openapi(request: web.Request) -> web.Response:
    """This document."""
    return json_response(OpenApiDocument(document_of(request.app)))
