"""The middleware and the decorator: routes marked `@requires_session` answer only a live
session, and find who it is from on the request; a verifier (in process or over HTTP) says.
Identity headers a client sent are dropped from every request, marked or not."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from multidict import CIMultiDict

from coatcheck.entrypoints.http.identity import Identity
from coatcheck.protect.refusals import NO_STORE, NOT_AUTHENTICATED, UNAVAILABLE, Refusal
from coatcheck.protect.verify import Checked, Unavailable, is_identity_header

_H = TypeVar("_H", bound=Callable[..., Any])
_REQUIRED = "__coatcheck_requires_session__"
_IDENTITY = web.RequestKey("coatcheck.identity", Identity)


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
    them; else the handler, with `identity(request)`. On every route, the request's
    identity headers (X-Auth-*, X_Auth_*) are dropped before the handler sees it."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if any(is_identity_header(name) for name in request.headers):
            kept = CIMultiDict(
                (name, value)
                for name, value in request.headers.items()
                if not is_identity_header(name)
            )
            request = request.clone(headers=kept)
        if not _requires_session(request):
            return await handler(request)
        try:
            checked = await verifier(request)
        except Unavailable:
            return _answer(UNAVAILABLE)
        if checked.identity is None:
            return _with_cookies(_answer(NOT_AUTHENTICATED), checked.set_cookies)
        request[_IDENTITY] = checked.identity
        try:
            response = await handler(request)
        except web.HTTPException as error:  # a redirect, say: the renewal goes with it
            _with_cookies(error, checked.set_cookies)
            raise
        return _with_cookies(response, checked.set_cookies)

    return middleware


def _requires_session(request: web.Request) -> bool:
    """Whether the route's handler is marked: a function, or a class-based view (web.View)
    marked as a whole or on the method that answers this request. The router names a view
    by its class, so a mark on its method alone must be looked up there, or the route would
    be served without a check."""
    handler = request.match_info.handler
    if getattr(handler, _REQUIRED, False):
        return True
    if isinstance(handler, type) and issubclass(handler, web.View):
        method = getattr(handler, request.method.lower(), None)
        return bool(getattr(method, _REQUIRED, False))
    return False


def _answer(refusal: Refusal) -> web.Response:
    response = web.Response(status=refusal.status, reason=refusal.reason, body=refusal.body)
    response.headers.extend(refusal.headers)
    return response


_R = TypeVar("_R", bound=web.StreamResponse)


def _with_cookies(response: _R, set_cookies: tuple[str, ...]) -> _R:
    """The response with these Set-Cookie headers, and never stored by a cache then; unless
    it has already been sent (a stream: a later request renews the cookie)."""
    if set_cookies and not response.prepared:
        for value in set_cookies:
            response.headers.add("Set-Cookie", value)
        response.headers[NO_STORE[0]] = NO_STORE[1]
    return response
