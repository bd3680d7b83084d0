"""RFC 9457 problem+json: every error a client can cause, mapped once."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from http import HTTPStatus

from aiohttp import web
from aiohttp.typedefs import Handler
from attrs import frozen

from domain.errors import (
    CoatcheckError,
    EmailNotVerified,
    EmailTaken,
    EmailUnavailable,
    InvalidCredentials,
    InvalidToken,
    InvalidValue,
    NotAuthenticated,
    SessionNotFound,
    StoreUnavailable,
    TooManyAttempts,
    TooManyEmails,
    UserNotFound,
    WrongPassword,
)
from entrypoints.http.responses import FieldError, Problem, json_response

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"


class RequestInvalid(Exception):
    """A request body or parameter failed validation; `errors` says where and why."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        super().__init__("the request is invalid")
        self.errors = tuple(errors)


class CrossSiteRequest(Exception):
    def __init__(self) -> None:
        super().__init__("cross-site request refused: the Origin is not allowed")


@frozen
class Kind:
    slug: str
    status: int
    title: str

    @property
    def type(self) -> str:
        return f"urn:coatcheck:problem:{self.slug}"


_KINDS: dict[type[Exception], Kind] = {
    RequestInvalid: Kind("invalid-request", 400, "Invalid request"),
    InvalidValue: Kind("invalid-request", 400, "Invalid request"),
    WrongPassword: Kind("wrong-password", 400, "Wrong current password"),
    InvalidToken: Kind("invalid-token", 400, "Invalid or expired link"),
    InvalidCredentials: Kind("invalid-credentials", 401, "Invalid credentials"),
    NotAuthenticated: Kind("not-authenticated", 401, "Not authenticated"),
    CrossSiteRequest: Kind("cross-site-request", 403, "Cross-site request refused"),
    EmailNotVerified: Kind("email-not-verified", 403, "Email address not verified"),
    SessionNotFound: Kind("not-found", 404, "Not found"),
    UserNotFound: Kind("not-found", 404, "Not found"),
    EmailTaken: Kind("email-taken", 409, "Email already registered"),
    TooManyAttempts: Kind("too-many-attempts", 429, "Too many attempts"),
    TooManyEmails: Kind("too-many-emails", 429, "Too many emails asked for"),
    StoreUnavailable: Kind("store-unavailable", 503, "Service unavailable"),
    EmailUnavailable: Kind("email-unavailable", 503, "Email not configured"),
}
_INTERNAL = Kind("internal-error", 500, "Internal server error")


def _http_kind(status: int, reason: str) -> Kind:
    return Kind(reason.lower().replace(" ", "-"), status, reason)


def kind_of(error: type[Exception]) -> Kind:
    """The problem an error of this type is answered with (aiohttp's own by their status)."""
    if issubclass(error, web.HTTPException):
        return _http_kind(error.status_code, HTTPStatus(error.status_code).phrase)
    return _KINDS.get(error, _INTERNAL)


def problem(
    kind: Kind,
    detail: str,
    headers: dict[str, str] | None = None,
    errors: tuple[FieldError, ...] = (),
) -> web.Response:
    body = Problem(
        type=kind.type, title=kind.title, status=kind.status, detail=detail, errors=errors
    )
    return json_response(body, kind.status, headers, PROBLEM_JSON)


def _from_http_exception(error: web.HTTPException) -> web.Response:
    headers = {"Allow": error.headers["Allow"]} if "Allow" in error.headers else None
    return problem(_http_kind(error.status, error.reason), error.reason, headers)


def _from_error(error: Exception) -> web.Response:
    kind = kind_of(type(error))
    if isinstance(error, RequestInvalid):
        return problem(kind, str(error), errors=error.errors)
    if isinstance(error, TooManyAttempts | TooManyEmails):
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
