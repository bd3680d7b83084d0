"""Each request's context, set by the outermost middleware: its id (a trusted proxy's
X-Request-ID, or a new one), returned in X-Request-ID and carried by every log line made
for it; its deadline, after which it is answered 503 whatever it waits for; its metrics.

Cheap on purpose, as it runs on every request: an id is a per-process random prefix and a
counter, and the metrics' label children are resolved once per route and status."""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import re
import secrets
from collections.abc import Sequence

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from adapters import deadline
from domain.errors import StoreUnavailable
from entrypoints.http.forwarded import Network, trusted
from entrypoints.http.problems import kind_of, problem
from entrypoints.http.routes import hashes_passwords
from entrypoints.logs import REQUEST_ID, REQUEST_ID_KEY
from entrypoints.metrics import Metrics

REQUEST_ID_HEADER = "X-Request-ID"
_ID_SHAPE = re.compile(r"[A-Za-z0-9._-]{1,64}")
_PREFIX = secrets.token_hex(4) + "-"
_NUMBERS = itertools.count(1)


def _offered_id(request: web.Request, proxies: Sequence[Network]) -> str | None:
    offered = request.headers.get(REQUEST_ID_HEADER)
    if offered is None or not _ID_SHAPE.fullmatch(offered) or not trusted(request.remote, proxies):
        return None
    return offered


def context_middleware(
    request_deadline: float,
    hashing_deadline: float,
    trusted_proxies: Sequence[str] = (),
    metrics: Metrics | None = None,
) -> Middleware:
    proxies = [ipaddress.ip_network(item, strict=False) for item in trusted_proxies]
    late = kind_of(StoreUnavailable)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        request_id = (proxies and _offered_id(request, proxies)) or f"{_PREFIX}{next(_NUMBERS):x}"
        request[REQUEST_ID_KEY] = request_id
        named = REQUEST_ID.set(request_id)
        seconds = (
            hashing_deadline if hashes_passwords(request.match_info.handler) else request_deadline
        )
        at, timed = deadline.start(seconds)
        response: web.StreamResponse
        try:
            async with asyncio.timeout_at(at) as limit:
                response = await handler(request)
        except TimeoutError:
            if not limit.expired():
                raise
            if metrics is not None:
                metrics.deadline_exceeded.inc()
            detail = "no answer within the request's deadline"
            response = problem(late, detail, {"Retry-After": "1"})
        except web.HTTPException as error:  # a redirect and the like, answered by aiohttp
            error.headers[REQUEST_ID_HEADER] = request_id
            raise
        finally:
            deadline.end(timed)
            REQUEST_ID.reset(named)
        if not response.prepared:
            response.headers[REQUEST_ID_HEADER] = request_id
        if metrics is not None:
            count, duration = metrics.request(
                request.match_info.route.resource, request.method, response.status
            )
            count.inc()
            duration.observe(asyncio.get_running_loop().time() - (at - seconds))
        return response

    return middleware
