"""What a request says about its client."""

from __future__ import annotations

from aiohttp import web

from coatcheck.domain.model import ClientInfo


def client_info(request: web.Request) -> ClientInfo:
    return ClientInfo(request.headers.get("User-Agent", ""), request.remote or "")
