"""The one aiohttp application factory, shared by the CLI and the tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping

import aiohttp_cors
from aiohttp import web
from aiohttp_session import session_middleware

from entrypoints.container import build_container
from entrypoints.http import openapi
from entrypoints.http.forwarded import forwarded_middleware
from entrypoints.http.keys import SERVICES, SETTINGS
from entrypoints.http.origin import origin_middleware
from entrypoints.http.problems import problem_middleware
from entrypoints.http.routes import (
    account,
    authentication,
    health,
    passwords,
    sessions,
    verify,
)
from entrypoints.http.tickets import CookiePolicy, TicketStorage
from entrypoints.migrations import apply_migrations
from entrypoints.settings import Settings, load_settings


def create_app(
    settings: Settings | None = None, *, overrides: Mapping[str, object] | None = None
) -> web.Application:
    """The service. `overrides` replace container providers by name (tests swap in fakes)."""
    settings = settings or load_settings()
    cookie = CookiePolicy.of(settings)
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[
            # Without trusted proxies there is nothing to read from forwarded headers.
            *([forwarded_middleware(settings.trusted_proxies)] if settings.trusted_proxies else []),
            session_middleware(TicketStorage(cookie)),
            problem_middleware,
            origin_middleware(settings.allowed_origins),
        ],
    )
    app[SETTINGS] = settings
    app.cleanup_ctx.append(_services(settings, overrides))
    for table in (
        authentication.routes,
        verify.routes,
        sessions.routes,
        passwords.routes,
        account.routes,
        health.routes,
        openapi.routes,
    ):
        app.add_routes(table)
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
    settings: Settings, overrides: Mapping[str, object] | None
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def context(app: web.Application) -> AsyncIterator[None]:
        await apply_migrations(settings)
        async with build_container(settings, overrides) as services:
            app[SERVICES] = services
            yield

    return context
