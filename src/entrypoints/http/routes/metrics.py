"""GET /metrics: Prometheus' text format (on the API's port, or on METRICS_PORT)."""

from __future__ import annotations

from aiohttp import web

from coatcheck.entrypoints.http.keys import METRICS
from coatcheck.entrypoints.http.routes import Reply, answers
from coatcheck.entrypoints.metrics import CONTENT_TYPE

routes = web.RouteTableDef()


@routes.get("/metrics")
@answers(
    Reply(200, "Prometheus text format", media=CONTENT_TYPE), authenticates=False, stores=False
)
async def metrics(request: web.Request) -> web.Response:
    """Metrics."""
    return web.Response(
        body=request.app[METRICS].exposition(),
        content_type=CONTENT_TYPE,
        charset="utf-8",
        headers={"Cache-Control": "no-store"},
    )
