"""Typed application state."""

from __future__ import annotations

from aiohttp import web

from entrypoints.container import Services
from entrypoints.metrics import Metrics
from entrypoints.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
SERVICES = web.AppKey("services", Services)
METRICS = web.AppKey("metrics", Metrics)


def services(request: web.Request) -> Services:
    return request.app[SERVICES]
