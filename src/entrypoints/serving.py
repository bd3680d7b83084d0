"""`coatcheck serve`: one process on uvloop, or with `--workers N` N processes on one port,
managed by gunicorn's arbiter (restarts, graceful shutdown) with aiohttp's own uvloop
gunicorn worker. Each process builds its own app after the fork, so no pool or client
crosses a fork. Both, and the tests' servers, run the app through `ServiceRunner`, whose
connections answer what aiohttp's parser refuses as coatcheck answers (http/protocol.py)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import uvloop
from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]

from coatcheck.entrypoints.http.app import create_app
from coatcheck.entrypoints.http.protocol import Protocol
from coatcheck.entrypoints.logs import LogFormat, RequestLog
from coatcheck.entrypoints.metrics_gathering import MetricsGatherer, worker_socket
from coatcheck.entrypoints.settings import Settings

GRACEFUL_SECONDS = 10
BACKLOG = 2048  # a burst of connections queues in the kernel rather than being refused


class _Server(web.Server):
    """aiohttp's low-level server, whose connections speak through Protocol."""

    def __call__(self) -> RequestHandler:
        return Protocol(self, loop=self._loop, **self._kwargs)


class ServiceRunner(web.AppRunner):
    """aiohttp's AppRunner serving through Protocol: aiohttp makes the server from the app;
    only how its connections answer what the parser refuses changes."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        server.__class__ = _Server
        return server


def service_runner(app: web.Application, log_format: LogFormat, **options: Any) -> ServiceRunner:
    """The runner of `app` as coatcheck serves it, requests logged by RequestLog."""
    return ServiceRunner(app, access_log_class=RequestLog, access_log_format=log_format, **options)


async def _freeze_heap(app: web.Application) -> None:
    """Once the app has started, move every object it made so far (modules, the app, its
    pools and models) out of the garbage collector's reach. Requests in flight survive the
    young collections and count towards a full one; without this, each full collection walks
    the whole heap and stops the loop for tens of milliseconds (the p99 of issue 8). Run last
    among the app's start-up steps; only in processes that serve, never in the tests' apps."""
    gc.collect()
    gc.freeze()


def _frozen_after_start(app: web.Application) -> web.Application:
    app.on_startup.append(_freeze_heap)
    return app


def serve(settings: Settings, host: str, port: int, workers: int = 1) -> None:
    if workers > 1:
        _Service(settings, host, port, workers).run()
    else:
        run(create_app(settings), host, port, settings.log_format)


def run(app: web.Application, host: str, port: int, log_format: LogFormat = "json") -> None:
    """One process serving `app` as coatcheck is served (bench/ runs its baseline so too),
    until SIGINT or SIGTERM."""
    logging.getLogger("coatcheck.serving").info(
        "serving", extra={"event": "serving", "address": f"{host}:{port}"}
    )
    runner = service_runner(_frozen_after_start(app), log_format, handle_signals=True)
    with (
        contextlib.suppress(web.GracefulExit, KeyboardInterrupt),
        asyncio.Runner(loop_factory=uvloop.new_event_loop) as loop,
    ):
        loop.run(_serve_until_stopped(runner, host, port))


async def _serve_until_stopped(runner: web.AppRunner, host: str, port: int) -> None:
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port, backlog=BACKLOG).start()
        await asyncio.Event().wait()  # a signal ends it (GracefulExit)
    finally:
        await runner.cleanup()


class _Service(BaseApplication):  # type: ignore[misc]
    """With METRICS_PORT a port (the default), each worker serves its metrics on a Unix
    socket of a private folder, and the arbiter answers METRICS_PORT for them all, summed
    (metrics_gathering.py). With METRICS_PORT=api each process answers for itself."""

    def __init__(self, settings: Settings, host: str, port: int, workers: int) -> None:
        self._settings = settings
        self._options: dict[str, object] = {
            "bind": f"{host}:{port}",
            "workers": workers,
            "worker_class": "aiohttp.GunicornUVLoopWebWorker",
            "backlog": BACKLOG,
            "graceful_timeout": GRACEFUL_SECONDS,
        }
        self._gathering: Path | None = None
        if settings.metrics and settings.metrics_port != "api":
            self._gathering = Path(tempfile.mkdtemp(prefix="coatcheck-metrics-"))  # 0700
            gatherer = MetricsGatherer(
                self._gathering, settings.metrics_host, settings.metrics_port
            )
            self._options["when_ready"] = lambda _arbiter: gatherer.start()
            self._options["on_exit"] = lambda _arbiter: self._stop_gathering(gatherer)
        super().__init__()

    def _stop_gathering(self, gatherer: MetricsGatherer) -> None:
        gatherer.stop()
        if self._gathering is not None:
            shutil.rmtree(self._gathering, ignore_errors=True)

    def load_config(self) -> None:
        for name, value in self._options.items():
            self.cfg.set(name, value)

    def load(self) -> Callable[[], Awaitable[web.AppRunner]]:
        async def runner() -> web.AppRunner:  # in the worker, after the fork
            folder = self._gathering
            own = None if folder is None else worker_socket(folder, os.getpid())
            return service_runner(
                _frozen_after_start(create_app(self._settings, metrics_socket=own)),
                self._settings.log_format,
                shutdown_timeout=GRACEFUL_SECONDS * 0.95,
            )

        return runner
