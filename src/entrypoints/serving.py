"""`coatcheck serve`: one process on uvloop, or with `--workers N` N processes on one port,
managed by gunicorn's arbiter (restarts, graceful shutdown) with aiohttp's own uvloop
gunicorn worker. Each process builds its own app after the fork, so no pool or client
crosses a fork."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import uvloop
from aiohttp import web
from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]

from entrypoints.http.app import create_app
from entrypoints.logs import LogFormat, RequestLog
from entrypoints.settings import Settings

GRACEFUL_SECONDS = 10
BACKLOG = 2048  # a burst of connections queues in the kernel rather than being refused


def serve(settings: Settings, host: str, port: int, workers: int = 1) -> None:
    if workers > 1:
        _Service(settings, host, port, workers).run()
    else:
        run(create_app(settings), host, port, settings.log_format)


def run(app: web.Application, host: str, port: int, log_format: LogFormat = "json") -> None:
    """One process serving `app` as coatcheck is served (bench/ runs its baseline so too).
    Its one line at start is a log line like every other."""
    logging.getLogger("coatcheck.serving").info(
        "serving", extra={"event": "serving", "address": f"{host}:{port}"}
    )
    web.run_app(
        app,
        host=host,
        port=port,
        backlog=BACKLOG,
        access_log_class=RequestLog,
        access_log_format=log_format,
        loop=uvloop.new_event_loop(),
        print=None,
    )


class _Service(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, host: str, port: int, workers: int) -> None:
        self._settings = settings
        self._options = {
            "bind": f"{host}:{port}",
            "workers": workers,
            "worker_class": "aiohttp.GunicornUVLoopWebWorker",
            "backlog": BACKLOG,
            "graceful_timeout": GRACEFUL_SECONDS,
        }
        super().__init__()

    def load_config(self) -> None:
        for name, value in self._options.items():
            self.cfg.set(name, value)

    def load(self) -> Callable[[], Awaitable[web.AppRunner]]:
        async def runner() -> web.AppRunner:
            # A runner of our own, so that workers log requests as a single process does.
            return web.AppRunner(
                create_app(self._settings),
                access_log_class=RequestLog,
                access_log_format=self._settings.log_format,
                shutdown_timeout=GRACEFUL_SECONDS * 0.95,
            )

        return runner
