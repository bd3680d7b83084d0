"""CSRF defence: unsafe requests that a browser could send with the cookie must come from
our own origin or an allowed one. Bearer-authenticated requests are exempt."""

from __future__ import annotations

from collections.abc import Iterable

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from coatcheck.entrypoints.http.problems import CrossSiteRequest
from coatcheck.entrypoints.http.tickets import bearer_value

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def cross_site(request: web.Request, allowed: frozenset[str]) -> bool:
    """Whether a browser sent this from a page of another origin than ours or an allowed one."""
    origin = request.headers.get("Origin")
    if origin is None:
        return request.headers.get("Sec-Fetch-Site", "").lower() == "cross-site"
    own = f"{request.scheme}://{request.host}".lower()
    return origin.lower() not in allowed and origin.lower() != own


def origin_middleware(allowed_origins: Iterable[str]) -> Middleware:
    allowed = frozenset(origin.lower() for origin in allowed_origins)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if (
            request.method not in SAFE_METHODS
            and bearer_value(request) is None
            and cross_site(request, allowed)
        ):
            raise CrossSiteRequest()
        return await handler(request)

    return middleware
