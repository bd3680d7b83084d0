"""RFC 9457 problem+json: every error a client can cause, mapped once."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from attrs import frozen

from domain.errors import (
    CoatcheckError,
    EmailTaken,
    InvalidCredentials,
    InvalidValue,
    NotAuthenticated,
    SessionNotFound,
    StoreUnavailable,
    TooManyAttempts,
    UserNotFound,
    WrongPassword,
)

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"


class RequestInvalid(Exception):
    """A request body or parameter failed validation; `errors` says where and why."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("the request is invalid")
        self.errors = errors


class CrossSiteRequest(Exception):
    def __init__(self) -> None:
        super().__init__("cross-site request refused: the Origin is not allowed")


@frozen
class Kind:
    slug: str
    status: int
    title: str


_KINDS: dict[type[Exception], Kind] = {
    RequestInvalid: Kind("invalid-request", 400, "Invalid request"),
    InvalidValue: Kind("invalid-request", 400, "Invalid request"),
    WrongPassword: Kind("wrong-password", 400, "Wrong current password"),
    InvalidCredentials: Kind("invalid-credentials", 401, "Invalid credentials"),
    NotAuthenticated: Kind("not-authenticated", 401, "Not authenticated"),
    CrossSiteRequest: Kind("cross-site-request", 403, "Cross-site request refused"),
    SessionNotFound: Kind("not-found", 404, "Not found"),
    UserNotFound: Kind("not-found", 404, "Not found"),
    EmailTaken: Kind("email-taken", 409, "Email already registered"),
    TooManyAttempts: Kind("too-many-attempts", 429, "Too many attempts"),
    StoreUnavailable: Kind("store-unavailable", 503, "Service unavailable"),
}
_INTERNAL = Kind("internal-error", 500, "Internal server error")


def problem(
    kind: Kind, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> web.Response:
    body: dict[str, Any] = {"type": f"urn:coatcheck:problem:{kind.slug}", "title": kind.title}
    body |= {"status": kind.status, "detail": detail, **extra}
    response = web.json_response(body, status=kind.status, headers=headers)
    response.content_type = PROBLEM_JSON
    return response


def _from_http_exception(error: web.HTTPException) -> web.Response:
    slug = error.reason.lower().replace(" ", "-")
    headers = {"Allow": error.headers["Allow"]} if "Allow" in error.headers else None
    return problem(Kind(slug, error.status, error.reason), error.reason, headers)


def _from_error(error: Exception) -> web.Response:
    kind = _KINDS.get(type(error), _INTERNAL)
    if isinstance(error, RequestInvalid):
        return problem(kind, str(error), errors=error.errors)
    if isinstance(error, TooManyAttempts):
        retry = str(error.retry_after_seconds)
        return problem(kind, str(error), {"Retry-After": retry})
    if isinstance(error, StoreUnavailable):
        log.warning("store unavailable: %s", error)
        return problem(kind, str(error), {"Retry-After": "1"})
    return problem(kind, str(error))


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        return _from_http_exception(error)
    except (CoatcheckError, RequestInvalid, CrossSiteRequest) as error:
        return _from_error(error)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem(_INTERNAL, "an unexpected error occurred")
