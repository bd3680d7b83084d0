"""Headers every answer carries, set in one place: no cache may store an answer (most are
about a user, and none is worth caching) unless its handler says otherwise; with CORS,
every answer depends on the Origin and says so; and the software is named without its
version. The context middleware stamps every answer a handler returns or raises; what is
answered otherwise stamps itself (a WebSocket's handshake, what the parser refuses, the
/metrics listeners: `stamped` on a process's own, metrics_gathering.py's in the arbiter)."""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from coatcheck.entrypoints.http.tickets import NO_STORE

SERVER = "coatcheck"


def stamp(response: web.StreamResponse, vary_origin: bool = False) -> None:
    headers = response.headers
    headers["Server"] = SERVER
    headers.setdefault("Cache-Control", NO_STORE["Cache-Control"])
    if vary_origin:
        vary = headers.get("Vary")
        headers["Vary"] = "Origin" if not vary else f"{vary}, Origin"


@web.middleware
async def stamped(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Stamps every answer of an app that has no context middleware (the /metrics listener);
    outermost, so that what an inner middleware answers for an error is stamped too."""
    response = await handler(request)
    stamp(response)
    return response
