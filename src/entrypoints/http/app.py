"""The one aiohttp application factory, shared by the CLI and the tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any

import aiohttp_cors
from aiohttp import web
from aiohttp_session import session_middleware

from coatcheck.entrypoints.container import build_container
from coatcheck.entrypoints.http import openapi, session_socket
from coatcheck.entrypoints.http.context import context_middleware
from coatcheck.entrypoints.http.forwarded import forwarded_middleware
from coatcheck.entrypoints.http.headers import stamped
from coatcheck.entrypoints.http.keys import METRICS, SERVICES, SETTINGS
from coatcheck.entrypoints.http.origin import origin_check
from coatcheck.entrypoints.http.problems import OVERLOADED, problem_middleware
from coatcheck.entrypoints.http.protocol import ProtocolRunner
from coatcheck.entrypoints.http.routes import (
    account,
    account_life,
    authentication,
    factors,
    health,
    passkeys,
    passwords,
    sessions,
    verify,
)
from coatcheck.entrypoints.http.routes import metrics as metrics_routes
from coatcheck.entrypoints.http.tickets import (
    COOKIES,
    LEGACY_CUTOFF,
    CookiePolicy,
    LegacyCutoff,
    TicketStorage,
)
from coatcheck.entrypoints.metrics import Metrics
from coatcheck.entrypoints.migrations import (
    migrate_embedded,
    migrate_postgres_once,
    migrate_postgres_when_up,
)
from coatcheck.entrypoints.settings import Settings, load_settings


def create_app(
    settings: Settings | None = None,
    *,
    overrides: Mapping[str, object] | None = None,
    metrics_socket: Path | None = None,
) -> web.Application:
    """The service. `overrides` replace container providers by name (tests swap in fakes);
    `metrics_socket`: /metrics on this Unix socket (a worker of `serve --workers N`, whose
    arbiter gathers them all on METRICS_PORT)."""
    settings = settings or load_settings()
    cookie = CookiePolicy.of(settings)
    metrics = Metrics()
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[
            context_middleware(
                settings.request_deadline,
                settings.hashing_deadline,
                settings.trusted_proxies,
                metrics if settings.metrics else None,
                vary_origin=bool(settings.allowed_origins),
            ),
            # Without trusted proxies there is nothing to read from forwarded headers.
            *([forwarded_middleware(settings.trusted_proxies)] if settings.trusted_proxies else []),
            session_middleware(TicketStorage(cookie)),
            problem_middleware(origin_check(settings.allowed_origins)),
        ],
    )
    app[SETTINGS] = settings
    app[METRICS] = metrics
    app[OVERLOADED] = metrics.overloaded
    app.cleanup_ctx.append(_services(settings, {"metrics": metrics, **(overrides or {})}))
    app[COOKIES] = cookie
    session_socket.setup(app)
    for table in (
        authentication.routes,
        verify.routes,
        sessions.routes,
        passwords.routes,
        account_life.routes,
        factors.routes,
        passkeys.routes,
        health.routes,
        openapi.routes,
    ):
        app.add_routes(table)
    host, port = settings.metrics_host, settings.metrics_port
    if settings.metrics and metrics_socket is not None:
        app.cleanup_ctx.append(
            _metrics_site(settings, metrics, lambda r: web.UnixSite(r, metrics_socket))
        )
    elif settings.metrics and port == "api":
        app.add_routes(metrics_routes.routes)  # opted in: on the API's port
    elif settings.metrics:
        app.cleanup_ctx.append(
            _metrics_site(settings, metrics, lambda r: web.TCPSite(r, host, int(port)))
        )
    if settings.account_page:
        app.add_routes(account.routes())
    if settings.allowed_origins:
        _allow_cross_origin(app, settings.allowed_origins)
    return app


def _allow_cross_origin(app: web.Application, origins: list[str]) -> None:
    """CORS with credentials for the allowed origins, so that a front end served from one
    of them can call the API with its cookie (the Origin check already lets them in)."""
    options = aiohttp_cors.ResourceOptions(  # type: ignore[no-untyped-call]
        allow_credentials=True,
        allow_headers=("Content-Type", "Authorization"),
        allow_methods=("GET", "POST", "DELETE"),
        max_age=600,
    )
    cors = aiohttp_cors.setup(app, defaults=dict.fromkeys(origins, options))
    for route in list(app.router.routes()):
        cors.add(route)


def _services(
    settings: Settings, overrides: Mapping[str, object]
) -> Callable[[web.Application], AsyncIterator[None]]:
    """The stores, opened whether or not they answer: until they do, requests that need them
    get 503 and readiness says so; PostgreSQL's migrations are applied once it answers."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        await migrate_embedded(settings)
        async with build_container(settings, overrides) as services:
            app[SERVICES] = services
            cutoff = app[LEGACY_CUTOFF] = LegacyCutoff(services.milestones, services.clock.now())
            services.outbox.start()  # this process's letter worker
            async with _in_background(
                cutoff.record() if settings.cookie_legacy_name is not None else None
            ):
                watch = services.watches["users"]
                if await migrate_postgres_once(settings, watch):
                    yield
                    return
                async with _in_background(migrate_postgres_when_up(settings, watch)):
                    yield

    return context


@contextlib.asynccontextmanager
async def _in_background(work: Coroutine[Any, Any, None] | None) -> AsyncIterator[None]:
    """Run `work` beside the block, cancelled when it ends."""
    if work is None:
        yield
        return
    task = asyncio.create_task(work)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class CannotListen(Exception):
    """A listener of the service could not be opened (its port taken, its address not one
    of this machine's): `serve` says so in one line instead of a traceback."""


def _metrics_site(
    settings: Settings, metrics: Metrics, site: Callable[[web.AppRunner], web.BaseSite]
) -> Callable[[web.Application], AsyncIterator[None]]:
    """/metrics on a listener of its own, apart from the API."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        # Its errors (a wrong path or method) answered and stamped as the API's are.
        metrics_app = web.Application(middlewares=[stamped, problem_middleware()])
        metrics_app[METRICS] = metrics
        metrics_app[SETTINGS] = settings  # its slow clients' limits, as the API's
        metrics_app.add_routes(metrics_routes.routes)
        runner = ProtocolRunner(metrics_app, access_log=None)  # what the parser refuses too
        await runner.setup()
        try:
            try:
                await site(runner).start()
            except OSError as error:
                raise CannotListen(f"/metrics (METRICS_HOST, METRICS_PORT): {error}") from error
            yield
        finally:
            await runner.cleanup()

    return context
