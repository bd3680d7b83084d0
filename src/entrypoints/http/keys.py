"""Typed application state."""

from __future__ import annotations

from aiohttp import web

from coatcheck.entrypoints.container import Services
from coatcheck.entrypoints.metrics import Metrics
from coatcheck.entrypoints.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
SERVICES = web.AppKey("services", Services)
METRICS = web.AppKey("metrics", Metrics)


def services(request: web.Request) -> Services:
    return request.app[SERVICES]
