"""Liveness and readiness."""

from __future__ import annotations

import asyncio

from aiohttp import web

from domain.errors import StoreUnavailable
from entrypoints.http.keys import services

routes = web.RouteTableDef()
READY_TIMEOUT_SECONDS = 2.0


@routes.get("/health/live")
async def live(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


@routes.get("/health/ready")
async def ready(request: web.Request) -> web.Response:
    """200 when every store answers within the timeout, else 503 naming the ones that did not."""
    checks = {}
    for name, store in services(request).stores.items():
        try:
            async with asyncio.timeout(READY_TIMEOUT_SECONDS):
                await store.ping()
            checks[name] = "ok"
        except (StoreUnavailable, TimeoutError):
            checks[name] = "unavailable"
    ok = all(state == "ok" for state in checks.values())
    return web.json_response(
        {"status": "ok" if ok else "unavailable", "checks": checks}, status=200 if ok else 503
    )
