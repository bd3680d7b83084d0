"""CSRF defence: unsafe requests that a browser could send with the cookie must come from
our own origin or an allowed one. Bearer-authenticated requests are exempt."""

from __future__ import annotations

from collections.abc import Iterable

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from entrypoints.http.problems import CrossSiteRequest
from entrypoints.http.tickets import bearer_value

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def origin_middleware(allowed_origins: Iterable[str]) -> Middleware:
    allowed = frozenset(origin.lower() for origin in allowed_origins)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method not in SAFE_METHODS and bearer_value(request) is None:
            origin = request.headers.get("Origin")
            if origin is not None:
                own = f"{request.scheme}://{request.host}".lower()
                if origin.lower() not in allowed and origin.lower() != own:
                    raise CrossSiteRequest()
            elif request.headers.get("Sec-Fetch-Site", "").lower() == "cross-site":
                raise CrossSiteRequest()
        return await handler(request)

    return middleware
