"""Typed application state."""

from __future__ import annotations

from aiohttp import web

from entrypoints.container import Container
from entrypoints.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
CONTAINER = web.AppKey("container", Container)


def container(request: web.Request) -> Container:
    return request.app[CONTAINER]
