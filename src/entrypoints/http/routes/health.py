"""Liveness and readiness."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from coatcheck.adapters.redis.cluster_health import ClusterHealth
from coatcheck.adapters.store_watch import EVENT_LOOP
from coatcheck.domain.errors import Overloaded, StoreUnavailable
from coatcheck.domain.ports import HealthCheck
from coatcheck.entrypoints.http.keys import SETTINGS, services
from coatcheck.entrypoints.http.responses import Check, Liveness, Readiness, json_response
from coatcheck.entrypoints.http.routes import Reply, answers

routes = web.RouteTableDef()


@routes.get("/health/live")
@answers(Reply(200, "alive", Liveness), authenticates=False, stores=False)
async def live(request: web.Request) -> web.Response:
    """Liveness."""
    return json_response(Liveness(status="ok"))


async def _check(store: HealthCheck) -> Check:
    try:
        await store.ping()
    except Overloaded as error:
        # A burst holds every connection: it answers. But a timeout while this process's
        # loop ran late says nothing of the store: not ready, as any timeout.
        return "unavailable" if error.resource == EVENT_LOOP else "ok"
    except StoreUnavailable:
        return "unavailable"
    return "ok"


@routes.get("/health/ready")
@answers(
    Reply(200, "ready", Readiness),
    Reply(503, "a store is down", Readiness),
    authenticates=False,
    stores=False,
)
async def ready(request: web.Request) -> web.Response:
    """Readiness: can serve log-ins.

    Every store answers and accepts a write (a Redis out of memory or a read-only
    PostgreSQL does not), all asked at once and within READY_TIMEOUT; else 503 naming the
    ones that did not. On a Redis Cluster, `primaries` gives each primary's state, and the
    sessions count as ready while any primary takes a write (READY_EVERY_PRIMARY: all).
    """
    stores = services(request).stores
    checks: dict[str, Check] = dict.fromkeys(stores, "unavailable")
    primaries: dict[str, Check] | None = None
    cluster = next((s for s in stores.values() if isinstance(s, ClusterHealth)), None)
    tasks: dict[asyncio.Future[Any], str] = {
        asyncio.ensure_future(_check(store)): name
        for name, store in stores.items()
        if store is not cluster
    }
    if cluster is not None:
        tasks[asyncio.ensure_future(cluster.primaries())] = "(primaries)"
    done, late = await asyncio.wait(tasks, timeout=request.app[SETTINGS].ready_timeout)
    for task in late:
        task.cancel()
    for task in done:
        if tasks[task] != "(primaries)":
            checks[tasks[task]] = task.result()
            continue
        states: dict[str, bool] = task.result()
        primaries = {node: "ok" if up else "unavailable" for node, up in states.items()}
        name = next(name for name, store in stores.items() if store is cluster)
        checks[name] = "ok" if cluster is not None and cluster.ready(states) else "unavailable"
    ok = all(state == "ok" for state in checks.values())
    readiness = Readiness(status="ok" if ok else "unavailable", checks=checks, primaries=primaries)
    return json_response(readiness, 200 if ok else 503)
