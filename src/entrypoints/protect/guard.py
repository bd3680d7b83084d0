"""The middleware and the decorator: routes marked `@requires_session` answer only a live
session, and find who it is from on the request; a verifier (in process or over HTTP) says."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from attrs import frozen

from coatcheck.domain.errors import NotAuthenticated, StoreUnavailable
from coatcheck.entrypoints.http.identity import Identity
from coatcheck.entrypoints.http.problems import kind_of, problem
from coatcheck.entrypoints.http.tickets import NO_STORE

_H = TypeVar("_H", bound=Callable[..., Any])
_REQUIRED = "__coatcheck_requires_session__"
_IDENTITY = web.RequestKey("coatcheck.identity", Identity)


class Unavailable(Exception):
    """The check could not be made: a store is down, coatcheck did not answer, or not in time."""


@frozen
class Checked:
    """What a verifier found: who the request is from (None: no live session), and the
    Set-Cookie values the client must get (a renewal, or the clearing of a dead cookie)."""

    identity: Identity | None
    set_cookies: tuple[str, ...] = ()


class Verifier(Protocol):
    async def __call__(self, request: web.BaseRequest) -> Checked:
        """Raises Unavailable when it cannot tell."""
        ...


def requires_session(handler: _H) -> _H:
    """Marks a handler: `protect`'s middleware lets only requests of a live session reach it."""
    setattr(handler, _REQUIRED, True)
    return handler


def identity(request: web.Request) -> Identity:
    """Who the request is from, on a route that requires a session."""
    try:
        return request[_IDENTITY]
    except KeyError:
        raise LookupError("this route does not require a session (@requires_session)") from None


def protect(verifier: Verifier) -> Middleware:
    """A middleware that asks `verifier` on the routes marked `@requires_session`: 401
    without a live session, 503 when it cannot tell, both problem+json as coatcheck answers
    them; else the handler, with `identity(request)`."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not getattr(request.match_info.handler, _REQUIRED, False):
            return await handler(request)
        try:
            checked = await verifier(request)
        except Unavailable:
            unavailable = kind_of(StoreUnavailable)
            return problem(unavailable, "the session could not be checked", {"Retry-After": "1"})
        if checked.identity is None:
            refused = problem(kind_of(NotAuthenticated), str(NotAuthenticated()))
            return _with_cookies(refused, checked.set_cookies)
        request[_IDENTITY] = checked.identity
        try:
            response = await handler(request)
        except web.HTTPException as error:  # a redirect, say: the renewal goes with it
            _with_cookies(error, checked.set_cookies)
            raise
        return _with_cookies(response, checked.set_cookies)

    return middleware


_R = TypeVar("_R", bound=web.StreamResponse)


def _with_cookies(response: _R, set_cookies: tuple[str, ...]) -> _R:
    """The response with these Set-Cookie headers, and never stored by a cache then; unless
    it has already been sent (a stream: a later request renews the cookie)."""
    if set_cookies and not response.prepared:
        for value in set_cookies:
            response.headers.add("Set-Cookie", value)
        response.headers.update(NO_STORE)
    return response
