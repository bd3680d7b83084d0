"""Every answer an in-process app gives the integration tests is checked against that app's
own generated OpenAPI document: its status must be one the document lists for the route's
path template and method, and its body must match the schema of that answer.

A middleware, put first on every app that `make_client` makes, sees each answer as it
leaves; a mismatch fails the test that received it. What it does not hold to the document,
each for a reason:

- HEAD, aiohttp's twin of every GET: checked as that GET (aiohttp drops the body it makes).
- OPTIONS, CORS preflights (with ALLOWED_ORIGINS): aiohttp-cors answers them, not the API.
- a request no route matches (404 for an unknown path, 405 for another method): the
  router's answer, no operation's; checked against the Problem schema instead.
- answers given before any middleware runs (a request aiohttp's HTTP parser refuses; see
  test_http_raw_bytes.py, which holds one to the document with `check`) and answers of
  servers in another process (`coatcheck serve` in the CLI, embedded-default and workers
  tests): the hook cannot see them; the same app's answers are checked in process.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from jsonschema import Draft202012Validator

from coatcheck.entrypoints.http.openapi import document_of
from coatcheck.entrypoints.http.problems import PROBLEM_JSON
from coatcheck.entrypoints.http.responses import JSON

Seen = Counter[tuple[str, str, int]]  # (method, path template, status) -> answers
NO_ROUTE = "(no route)"
EXEMPT_METHODS = {"OPTIONS": "a CORS preflight, answered by aiohttp-cors"}
_PROBLEM = {"$ref": "#/components/schemas/Problem"}


class Conformance:
    """Checks answers against an app's OpenAPI document; keeps what it saw and what failed."""

    def __init__(self, seen: Seen) -> None:
        self.seen = seen
        self.checked = 0
        self.violations: list[str] = []

    def watch(self, app: web.Application) -> None:
        """Check every answer of `app`, a new app not yet started."""
        document = document_of(app)

        @web.middleware
        async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
            try:
                response = await handler(request)
            except web.HTTPException as error:
                self._record(document, request, error)
                raise
            except Exception as error:
                self.violations.append(f"{request.method} {request.path} raised {error!r}")
                raise
            self._record(document, request, response)
            return response

        app.middlewares.insert(0, middleware)

    def _record(
        self, document: dict[str, Any], request: web.Request, response: web.StreamResponse
    ) -> None:
        resource = request.match_info.route.resource
        path = NO_ROUTE if resource is None else resource.canonical
        self.seen[request.method, path, response.status] += 1
        if request.method in EXEMPT_METHODS:
            return
        self.checked += 1
        body = response.body if isinstance(response, web.Response) else None
        if not isinstance(body, bytes | None):
            self.violations.append(f"{request.method} {path}: a streamed body is not checked")
            return
        self.violations += check(
            document, request.method, path, response.status, response.content_type, body or b""
        )


def check(
    document: dict[str, Any], method: str, path: str, status: int, content_type: str, body: bytes
) -> list[str]:
    """What is wrong with this answer by the document; nothing when it conforms."""
    where = f"{method} {path} {status}"
    if path == NO_ROUTE:
        if status not in (404, 405):
            return [f"{where}: the router answers only 404 or 405"]
        return _check_body(document, where, _PROBLEM, PROBLEM_JSON, content_type, body)
    operation = document["paths"].get(path, {}).get("get" if method == "HEAD" else method.lower())
    if operation is None:
        return [f"{where}: the document has no such operation"]
    answer = operation["responses"].get(str(status))
    if answer is None:
        return [f"{where}: the document lists only {sorted(operation['responses'])}"]
    content = answer.get("content", {})
    if not content:
        return [f"{where}: a body where the document lists none"] if body else []
    [(documented_type, media)] = content.items()
    return _check_body(document, where, media["schema"], documented_type, content_type, body)


def _check_body(
    document: dict[str, Any],
    where: str,
    schema: dict[str, Any],
    documented_type: str,
    content_type: str,
    body: bytes,
) -> list[str]:
    if content_type != documented_type:
        return [f"{where}: {content_type or 'no body'}, not {documented_type}"]
    if documented_type not in (JSON, PROBLEM_JSON):
        return []  # a page's file: its media type is what the document says of it
    try:
        value = json.loads(body)
    except ValueError:
        return [f"{where}: the body is not JSON"]
    # The components sit beside the schema, so that its "#/components/..." references resolve.
    validator = Draft202012Validator(
        {**schema, "components": document["components"]},
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )
    return [
        f"{where}: {error.message} (at {error.json_path})" for error in validator.iter_errors(value)
    ]
