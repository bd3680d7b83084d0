"""The one aiohttp application factory, shared by the CLI and the tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import aiohttp_cors
from aiohttp import web
from aiohttp_session import session_middleware

from entrypoints.container import Container
from entrypoints.http import openapi
from entrypoints.http.forwarded import forwarded_middleware
from entrypoints.http.keys import CONTAINER, SETTINGS
from entrypoints.http.origin import origin_middleware
from entrypoints.http.problems import problem_middleware
from entrypoints.http.routes import authentication, health, passwords, sessions
from entrypoints.http.tickets import CookiePolicy, TicketStorage
from entrypoints.resources import open_resources
from entrypoints.settings import Settings, load_settings

Configure = Callable[[Container], None]


def create_app(
    settings: Settings | None = None, *, configure: Configure | None = None
) -> web.Application:
    """The service. `configure` may override container providers (tests swap in fakes)."""
    settings = settings or load_settings()
    cookie = CookiePolicy(
        settings.cookie_full_name, settings.cookie_secure, settings.cookie_samesite
    )
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[
            forwarded_middleware(settings.trusted_proxies),
            session_middleware(TicketStorage(cookie)),
            problem_middleware,
            origin_middleware(settings.allowed_origins),
        ],
    )
    app[SETTINGS] = settings
    app.cleanup_ctx.append(_services(settings, configure))
    for table in (
        authentication.routes,
        sessions.routes,
        passwords.routes,
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
    settings: Settings, configure: Configure | None
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def context(app: web.Application) -> AsyncIterator[None]:
        async with open_resources(settings) as resources:
            container = Container(settings=settings, resources=resources)
            if configure is not None:
                configure(container)
            await asyncio.to_thread(container.hasher)  # its dummy hash, off the event loop
            app[CONTAINER] = container
            yield
            container.shutdown_resources()

    return context
