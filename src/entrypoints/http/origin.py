"""CSRF defence: unsafe requests that a browser could send with the cookie must come from
our own origin or an allowed one. Bearer-authenticated requests are exempt."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from aiohttp import web

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


def origin_check(allowed_origins: Iterable[str]) -> Callable[[web.Request], None]:
    """Refuses (CrossSiteRequest) an unsafe request that a browser sent with the cookie from
    another origin; run before the handler by the problem middleware (http/problems.py)."""
    allowed = frozenset(origin.lower() for origin in allowed_origins)

    def check(request: web.Request) -> None:
        if (
            request.method not in SAFE_METHODS
            and bearer_value(request) is None
            and cross_site(request, allowed)
        ):
            raise CrossSiteRequest()

    return check
