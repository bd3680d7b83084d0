"""`coatcheck serve`: one process on uvloop, or with `--workers N` N processes on one port,
managed by gunicorn's arbiter (restarts, graceful shutdown) with aiohttp's own uvloop
gunicorn worker. Each process builds its own app after the fork, so no pool or client
crosses a fork. Both, and the tests' servers, run the app through `ServiceRunner`, whose
connections answer what aiohttp's parser refuses as coatcheck answers (http/protocol.py).

On SIGTERM or SIGINT, in both modes, a process stops listening, closes its event sockets with
1001 "going away", lets the requests in flight finish within SHUTDOWN_GRACE (then cuts off
what is left) and logs one line of what it drained (`"event": "drained"`)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import math
import os
import shutil
import signal
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import uvloop
from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from gunicorn import glogging  # type: ignore[import-untyped]
from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]

from coatcheck.entrypoints.http.app import CannotListen, create_app
from coatcheck.entrypoints.http.protocol import BACKLOG, ProtocolRunner, ProtocolServer
from coatcheck.entrypoints.http.session_socket import HUB
from coatcheck.entrypoints.logs import LogFormat, RequestLog, flush_request_lines
from coatcheck.entrypoints.metrics_gathering import MetricsGatherer, worker_socket
from coatcheck.entrypoints.settings import Settings

ARBITER_MARGIN = 5  # gunicorn kills a worker this long after its grace, should it hang
_DRAIN_POLL_SECONDS = 0.05

log = logging.getLogger("coatcheck.serving")


def _busy(connection: RequestHandler) -> bool:
    return bool(connection._request_in_progress)


class _Server(ProtocolServer):
    """The API's server: Protocol's, its shutdown a drain."""

    cut_off = 0  # requests still running when the grace ran out

    async def shutdown(self, timeout: float | None = None) -> None:  # noqa: ASYNC109 -- aiohttp's
        """Wait up to `timeout` for the requests in flight, then let aiohttp cancel the rest.
        (aiohttp's own wait, connection by connection, cannot tell how many it cut off.)"""
        loop = asyncio.get_running_loop()
        until = loop.time() + (timeout or 0.0)
        # aiohttp offers no event for "a connection's request ended": polled, at shutdown only
        while loop.time() < until and any(_busy(c) for c in self._connections):  # noqa: ASYNC110
            await asyncio.sleep(_DRAIN_POLL_SECONDS)
        self.cut_off = sum(1 for connection in self._connections if _busy(connection))
        await super().shutdown(_DRAIN_POLL_SECONDS)  # what is left is cancelled at once


class ServiceRunner(ProtocolRunner):
    """aiohttp's AppRunner serving through Protocol: aiohttp makes the server from the app;
    only how its connections answer what the parser refuses, and what its shutdown logs,
    change. Its `shutdown_timeout` is the grace given to the requests in flight."""

    server_class = _Server

    async def cleanup(self) -> None:
        """Stop listening, close the event sockets (1001), drain the requests in flight,
        close the app; one line says what was drained, and how long it took."""
        server = self.server
        if not isinstance(server, _Server):  # never set up
            await super().cleanup()
            return
        loop = asyncio.get_running_loop()
        started = loop.time()
        hub = self.app.get(HUB)
        sockets = hub.open_sockets if hub is not None else 0
        busy = sum(1 for connection in server.connections if _busy(connection))
        await super().cleanup()
        flush_request_lines()  # the lines of what was drained come before the line that says so
        log.info(
            "drained",
            extra={
                "event": "drained",
                "requests": max(busy - sockets, 0) - server.cut_off,
                "sockets": sockets,
                "cut_off": server.cut_off,
                "seconds": round(loop.time() - started, 3),
            },
        )


def service_runner(app: web.Application, log_format: LogFormat, **options: Any) -> ServiceRunner:
    """The runner of `app` as coatcheck serves it, requests logged by RequestLog."""
    return ServiceRunner(app, access_log_class=RequestLog, access_log_format=log_format, **options)


YOUNG_COLLECTION_THRESHOLD = 10_000  # CPython's default is 700


def settle_heap() -> None:
    """Once the app has started, move every object it made so far (modules, the app, its
    pools and models) out of the garbage collector's reach: without this, each full
    collection walks the whole heap and stops the loop for tens of milliseconds (the p99 of
    issue 8).

    And collect the young generation only once 10,000 more objects live than at the last
    collection, not 700: 64 requests in flight hold more than 700 objects between them, so
    at CPython's default a collection ran every few requests, found them alive and promoted
    them towards the costly full collections (10.7 % of the authenticated GET's CPU in
    `bench.inprocess`, 1,165 young, 105 middle and 9 full collections in 70,000 requests;
    0.3 % and 5, 0, 0 at 10,000). Almost everything a request makes is freed by reference
    counting; what only the collector frees (cycles) waits until 10,000 more container objects
    live (bytes and strings they hold are not counted), and a cycle still in use at a young
    collection until a middle one (every 10 young) or a full one (not before 100). Measured in
    `bench.inprocess` rounds of 20,000: no cyclic garbage from 200s or 401s (no cookie, or
    junk ones); with Redis refused, about 2 objects a 503 (at most 5,713 seen pending)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, *gc.get_threshold()[1:])


async def _settle_heap(app: web.Application) -> None:
    """Run last among the app's start-up steps; only in processes that serve, never in the
    tests' apps."""
    settle_heap()


def _frozen_after_start(app: web.Application) -> web.Application:
    app.on_startup.append(_settle_heap)
    return app


def serve(settings: Settings, host: str, port: int, workers: int = 1) -> None:
    if workers > 1:
        _Service(settings, host, port, workers).run()
    else:
        run(create_app(settings), host, port, settings.log_format, settings.shutdown_grace)


def run(
    app: web.Application,
    host: str,
    port: int,
    log_format: LogFormat = "json",
    shutdown_grace: float = 10.0,
) -> None:
    """One process serving `app` as coatcheck is served (bench/ runs its baseline so too),
    until SIGINT or SIGTERM; then drained as the module's docstring says."""
    log.info("serving", extra={"event": "serving", "address": f"{host}:{port}"})
    runner = service_runner(_frozen_after_start(app), log_format, shutdown_timeout=shutdown_grace)
    with (
        contextlib.suppress(KeyboardInterrupt),
        asyncio.Runner(loop_factory=uvloop.new_event_loop) as loop,
    ):
        loop.run(_serve_until_stopped(runner, host, port))


async def _serve_until_stopped(runner: web.AppRunner, host: str, port: int) -> None:
    """Until a signal; the runner then drains what is in flight. (aiohttp's own signal
    handling raises GracefulExit out of the loop, which cancels every request instead.)"""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    try:
        # Inside the try: a start-up step that failed (a listener whose port is taken) still
        # closes the steps before it, the stores and the letter worker, instead of leaving
        # them to the loop's finalizer.
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port, backlog=BACKLOG).start()
        except OSError as error:
            raise CannotListen(f"the API (--host, --port): {error}") from error
        await stopping.wait()
        log.info("stopping", extra={"event": "stopping"})
    finally:
        await runner.cleanup()


class _GunicornLog(glogging.Logger):  # type: ignore[misc]
    """gunicorn's own lines (start, workers booted, ended, killed) through coatcheck's log
    handler, so JSON like every other line, rather than through a handler of its own."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for handler in list(self.error_log.handlers):
            self.error_log.removeHandler(handler)
        self.error_log.propagate = True


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
            "graceful_timeout": math.ceil(settings.shutdown_grace + ARBITER_MARGIN),
            "logger_class": _GunicornLog,
            # gunicorn's control socket (`gunicornc`: worker counts, shutdown) is no interface
            # of coatcheck's, and has one path per user: a second instance took it over, and
            # the first to stop removed it. Signals stop and reload the service.
            "control_socket_disable": True,
        }
        self._gathering: Path | None = None
        if settings.metrics and settings.metrics_port != "api":
            self._gathering = Path(tempfile.mkdtemp(prefix="coatcheck-metrics-"))  # 0700
            try:
                gatherer = MetricsGatherer(
                    self._gathering,
                    settings.metrics_host,
                    settings.metrics_port,
                    settings.request_head_timeout,
                )
            except OSError as error:  # its port taken: one line, as one process says it
                shutil.rmtree(self._gathering, ignore_errors=True)
                address = f"{settings.metrics_host}:{settings.metrics_port}"
                detail = error.strerror or error
                raise CannotListen(
                    f"/metrics (METRICS_HOST, METRICS_PORT): {address}: {detail}"
                ) from error
            self._options["when_ready"] = lambda _arbiter: gatherer.start()
            self._options["on_exit"] = lambda _arbiter: self._stop_gathering(gatherer)
            # A worker forked with the arbiter's listener would hold its port open too.
            self._options["post_fork"] = lambda _arbiter, _worker: gatherer.close_in_worker()
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
                shutdown_timeout=self._settings.shutdown_grace,
            )

        return runner
