"""`coatcheck serve --workers N`: N processes on one port, managed by gunicorn's arbiter
(restarts, graceful shutdown) with aiohttp's own gunicorn worker. Each process builds its
own app after the fork, so no pool or client crosses a fork."""

from __future__ import annotations

from aiohttp import web
from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]

from entrypoints.http.app import create_app
from entrypoints.settings import Settings


class _Service(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, host: str, port: int, workers: int) -> None:
        self._settings = settings
        self._options = {
            "bind": f"{host}:{port}",
            "workers": workers,
            "worker_class": "aiohttp.GunicornWebWorker",
            "accesslog": "-",
            "graceful_timeout": 10,
        }
        super().__init__()

    def load_config(self) -> None:
        for name, value in self._options.items():
            self.cfg.set(name, value)

    def load(self) -> web.Application:
        return create_app(self._settings)


def serve_workers(settings: Settings, host: str, port: int, workers: int) -> None:
    _Service(settings, host, port, workers).run()
