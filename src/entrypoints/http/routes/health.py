"""Liveness and readiness."""

from __future__ import annotations

import asyncio

from aiohttp import web

from domain.errors import StoreUnavailable
from entrypoints.http.keys import services
from entrypoints.http.responses import Check, Liveness, Readiness, json_response
from entrypoints.http.routes import Reply, answers

routes = web.RouteTableDef()
READY_TIMEOUT_SECONDS = 2.0


@routes.get("/health/live")
@answers(Reply(200, "alive", Liveness), authenticates=False, stores=False)
async def live(request: web.Request) -> web.Response:
    """Liveness."""
    return json_response(Liveness(status="ok"))


@routes.get("/health/ready")
@answers(
    Reply(200, "ready", Readiness),
    Reply(503, "a store is down", Readiness),
    authenticates=False,
    stores=False,
)
async def ready(request: web.Request) -> web.Response:
    """Readiness: every store answers.

    200 when every store answers within the timeout, else 503 naming the ones that did not.
    """
    checks: dict[str, Check] = {}
    for name, store in services(request).stores.items():
        try:
            async with asyncio.timeout(READY_TIMEOUT_SECONDS):
                await store.ping()
            checks[name] = "ok"
        except (StoreUnavailable, TimeoutError):
            checks[name] = "unavailable"
    ok = all(state == "ok" for state in checks.values())
    readiness = Readiness(status="ok" if ok else "unavailable", checks=checks)
    return json_response(readiness, 200 if ok else 503)
