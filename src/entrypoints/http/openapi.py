"""GET /openapi.json: the OpenAPI 3.1 document of the HTTP API. Request bodies come from
the same pydantic models that parse them, so the document cannot drift from the parser."""

from __future__ import annotations

from functools import cache
from typing import Any

from aiohttp import web

from entrypoints.http.keys import SETTINGS
from entrypoints.http.schemas import ChangePasswordBody, LogInBody, RegisterBody

routes = web.RouteTableDef()
_STRING = {"type": "string"}
_TIME = {"type": "string", "format": "date-time"}
_SCHEMAS: dict[str, Any] = {
    "User": {
        "type": "object",
        "required": ["id", "email", "name", "createdAt"],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "email": _STRING,
            "name": _STRING,
            "createdAt": _TIME,
        },
    },
    "Session": {
        "type": "object",
        "required": [
            "id",
            "kind",
            "createdAt",
            "lastSeenAt",
            "expiresAt",
            "userAgent",
            "ipAddress",
            "current",
        ],
        "properties": {
            "id": {"type": "string", "description": "public id; never usable as a ticket"},
            "kind": {"enum": ["browser", "remembered", "token"]},
            "createdAt": _TIME,
            "lastSeenAt": _TIME,
            "expiresAt": _TIME,
            "userAgent": _STRING,
            "ipAddress": _STRING,
            "current": {"type": "boolean"},
        },
    },
    "Token": {
        "type": "object",
        "required": ["token", "expiresAt", "user"],
        "properties": {
            "token": _STRING,
            "expiresAt": _TIME,
            "user": {"$ref": "#/components/schemas/User"},
        },
    },
    "Problem": {
        "type": "object",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": _STRING,
            "title": _STRING,
            "status": {"type": "integer"},
            "detail": _STRING,
            "errors": {
                "type": "array",
                "items": {"type": "object", "properties": {"field": _STRING, "message": _STRING}},
            },
        },
    },
}
_ERRORS = {
    "400": "invalid request",
    "401": "not authenticated or wrong credentials",
    "403": "cross-site request",
    "404": "not found",
    "409": "email already registered",
    "413": "body too large",
    "429": "too many attempts (see Retry-After)",
    "503": "a store is unavailable",
}
_COOKIE = {"Set-Cookie": {"description": "the session cookie", "schema": _STRING}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str, **extra: Any) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": schema}},
        **extra,
    }


def _operation(
    summary: str, ok: dict[str, Any], errors: str, body: str | None = None, secured: bool = True
) -> dict[str, Any]:
    responses = dict(ok)
    problem = {"application/problem+json": {"schema": _ref("Problem")}}
    for status in errors.split():
        responses[status] = {"description": _ERRORS[status], "content": problem}
    operation: dict[str, Any] = {"summary": summary, "responses": responses}
    if body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(body)}},
        }
    if not secured:
        operation["security"] = []
    return operation


def _paths() -> dict[str, Any]:
    user = _json(_ref("User"), "the user")
    return {
        "/authentication/register": {
            "post": _operation(
                "Create a user and log them in",
                {"201": _json(_ref("User"), "registered and logged in", headers=_COOKIE)},
                "400 403 409 413 503",
                "RegisterBody",
                secured=False,
            )
        },
        "/authentication/log-in": {
            "post": _operation(
                "Log in with a cookie (a fresh session every time)",
                {"200": _json(_ref("User"), "logged in", headers=_COOKIE)},
                "400 401 403 413 429 503",
                "LogInBody",
                secured=False,
            )
        },
        "/authentication/token": {
            "post": _operation(
                "Log in for a bearer token (no cookie)",
                {"200": _json(_ref("Token"), "logged in")},
                "400 401 403 413 429 503",
                "LogInBody",
                secured=False,
            )
        },
        "/authentication": {"get": _operation("Who am I", {"200": user}, "401 503")},
        "/authentication/log-out": {
            "post": _operation(
                "End this session and clear the cookie",
                {"204": {"description": "logged out"}},
                "403 503",
                secured=False,
            )
        },
        "/authentication/sessions": {
            "get": _operation(
                "My live sessions, newest first",
                {"200": _json({"type": "array", "items": _ref("Session")}, "the sessions")},
                "401 503",
            ),
            "delete": _operation(
                "End all my sessions but this one", {"204": {"description": "ended"}}, "401 403 503"
            ),
        },
        "/authentication/sessions/{id}": {
            "delete": {
                **_operation(
                    "End one of my sessions", {"204": {"description": "ended"}}, "401 403 404 503"
                ),
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": _STRING}],
            }
        },
        "/authentication/change-password": {
            "post": _operation(
                "Change my password: every other session ends, this one gets a new ticket",
                {
                    "204": {"description": "changed; a new cookie", "headers": _COOKIE},
                    "200": _json(_ref("Token"), "changed; a bearer caller's new token"),
                },
                "400 401 403 413 429 503",
                "ChangePasswordBody",
            )
        },
        "/health/live": {
            "get": _operation("Liveness", {"200": {"description": "alive"}}, "", secured=False)
        },
        "/health/ready": {
            "get": _operation(
                "Readiness: every store answers",
                {"200": {"description": "ready"}, "503": {"description": "a store is down"}},
                "",
                secured=False,
            )
        },
        "/openapi.json": {
            "get": _operation(
                "This document", {"200": {"description": "OpenAPI 3.1"}}, "", secured=False
            )
        },
    }


@cache
def document(cookie_name: str) -> dict[str, Any]:
    bodies = {
        model.__name__: model.model_json_schema(by_alias=True)
        for model in (RegisterBody, LogInBody, ChangePasswordBody)
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "coatcheck",
            "version": "0.1.0",
            "description": "Server-side session authentication.",
        },
        "paths": _paths(),
        "components": {
            "schemas": _SCHEMAS | bodies,
            "securitySchemes": {
                "cookie": {"type": "apiKey", "in": "cookie", "name": cookie_name},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
        },
        "security": [{"cookie": []}, {"bearer": []}],
    }


@routes.get("/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    return web.json_response(document(request.app[SETTINGS].cookie_full_name))
