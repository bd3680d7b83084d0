"""Headers every answer carries, set in one place as it is prepared: no cache may store an
answer (most are about a user, and none is worth caching) unless its handler says
otherwise; with CORS, every answer depends on the Origin and says so; and the software is
named without its version."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from entrypoints.http.tickets import NO_STORE

SERVER = "coatcheck"

Receiver = Callable[[web.Request, web.StreamResponse], Awaitable[None]]


def stamp(response: web.StreamResponse, vary_origin: bool = False) -> None:
    headers = response.headers
    headers["Server"] = SERVER
    headers.setdefault("Cache-Control", NO_STORE["Cache-Control"])
    if vary_origin:
        vary = headers.get("Vary")
        headers["Vary"] = "Origin" if not vary else f"{vary}, Origin"


async def _stamp(request: web.Request, response: web.StreamResponse) -> None:
    stamp(response)


async def _stamp_varying_by_origin(request: web.Request, response: web.StreamResponse) -> None:
    stamp(response, vary_origin=True)


def on_response_prepare(cors: bool) -> Receiver:
    """The receiver of the app's on_response_prepare signal."""
    return _stamp_varying_by_origin if cors else _stamp
