"""aiohttp's HTTP/1.1 protocol, answering what it refuses as coatcheck answers everything.

aiohttp answers a request its parser refuses (a line or header too long, a bad request
line, header or chunk) before any middleware runs, in text/plain that quotes the start of
the offending line, a ticket included, and logs the same at ERROR. Here such a request
gets a problem+json answer that quotes nothing, with an X-Request-ID as every answer has,
and one log line naming the problem, under that id. So does an `Expect` header other than
`100-continue`, which aiohttp refuses (417) before any middleware runs, in text/plain that
quotes the header and names aiohttp's version.

A connection that has not sent a whole request head within REQUEST_HEAD_TIMEOUT of opening,
or of the first bytes of a later request on it, is closed (SlowClients), and a process holds
at most REQUEST_HEAD_LIMIT connections waiting for a head: a client sending its headers a
byte a second holds nothing for long. The cost on the request path is one attribute set per
read: the clock is read by a sweep once a second, never per request.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Mapping
from typing import Any, cast

from aiohttp import hdrs, web
from aiohttp.http import HttpVersion11
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from coatcheck.entrypoints.http import headers
from coatcheck.entrypoints.http.context import REQUEST_ID_HEADER, new_request_id
from coatcheck.entrypoints.http.keys import SETTINGS
from coatcheck.entrypoints.http.problems import (
    expectation_failed,
    internal_error,
    refused_by_the_parser,
)
from coatcheck.entrypoints.logs import REQUEST_ID_KEY

log = logging.getLogger(__name__)
BACKLOG = 2048  # a burst of connections queues in the kernel rather than being refused
REQUEST_HEAD_TIMEOUT, REQUEST_HEAD_LIMIT = 10.0, 2048  # an app without settings (bench/)


class Protocol(RequestHandler):
    heard = False  # bytes came since the last sweep
    seen_requests = 0  # requests parsed on it, as of the last sweep
    head_since: float | None = None  # waiting for the rest of a head since (loop time)

    def data_received(self, data: bytes) -> None:
        self.heard = True
        RequestHandler.data_received(self, data)

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if request.writer.output_size > 0:  # as aiohttp: an answer has begun, none can follow
            raise ConnectionError("an answer was already being sent")
        request_id = _identified(request)
        if isinstance(exc, HttpProcessingError):
            response = refused_by_the_parser(exc)
            log.info(
                "refused a request aiohttp could not parse: %s",
                type(exc).__name__,
                extra={"status": response.status, "request_id": request_id},
            )
        elif status == 500 and _unknown_expectation(request):
            # aiohttp's Expect handler failed to make its 417 (a value it cannot encode back)
            response = _refused_expectation(request_id)
        else:  # an error no middleware answered (500), or aiohttp's handler timeout (504)
            log.error(
                "error handling a request (%d)",
                status,
                exc_info=exc,
                extra={"request_id": request_id},
            )
            response = internal_error(status)
        _stamp_refusal(response, request_id)
        return response

    def finish_response(
        self, request: BaseRequest, resp: web.StreamResponse, start_time: float | None
    ) -> Coroutine[Any, Any, tuple[web.StreamResponse, bool]]:
        # Not a coroutine of its own: aiohttp's, returned, costs no extra frame a request.
        if isinstance(resp, web.HTTPExpectationFailed):  # aiohttp's, before any middleware
            request_id = _identified(request)
            resp = _refused_expectation(request_id)
            _stamp_refusal(resp, request_id)
        return RequestHandler.finish_response(self, request, resp, start_time)


def _identified(request: BaseRequest) -> str:
    """The id of a request answered before any middleware ran (none gave it one), for its
    answer and its log lines, as the context middleware gives every other request; the
    request line finds it on the request. (A trusted proxy's id is not taken: what could
    check the proxy's address is never reached.)"""
    request_id = request.get(REQUEST_ID_KEY) or new_request_id()
    request[REQUEST_ID_KEY] = request_id
    return request_id


def _stamp_refusal(response: web.StreamResponse, request_id: str) -> None:
    response.headers[REQUEST_ID_HEADER] = request_id
    headers.stamp(response)
    response.force_close()


class ProtocolServer(web.Server):
    """aiohttp's low-level server, whose connections speak through Protocol, the slow ones
    among them watched."""

    slow_clients: SlowClients | None = None

    def __call__(self) -> RequestHandler:
        return Protocol(self, loop=self._loop, **self._kwargs)

    def connection_made(self, handler: RequestHandler, transport: asyncio.Transport) -> None:
        super().connection_made(handler, transport)
        if self.slow_clients is not None:
            self.slow_clients.connected(handler)


class ProtocolRunner(web.AppRunner):
    """aiohttp's AppRunner serving through Protocol, with the slow clients' limits of the
    app's settings: every listener of coatcheck (the API's, whose runner adds the drain,
    and a process's /metrics) answers what the parser refuses as the API does, and holds
    no connection long that owes its request head."""

    server_class: type[ProtocolServer] = ProtocolServer

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        server.__class__ = self.server_class
        served = cast(ProtocolServer, server)
        settings = self.app.get(SETTINGS)
        head_timeout, head_limit = (
            (settings.request_head_timeout, settings.request_head_limit)
            if settings is not None
            else (REQUEST_HEAD_TIMEOUT, REQUEST_HEAD_LIMIT)
        )
        served.slow_clients = SlowClients(served._connections, head_timeout, head_limit)
        return served


def _unknown_expectation(request: BaseRequest) -> bool:
    """Whether aiohttp refuses the request's Expect header, as it decides it: a value other
    than 100-continue on HTTP/1.1 (before any middleware runs)."""
    expect = request.headers.get(hdrs.EXPECT, "")
    return expect != "" and request.version == HttpVersion11 and expect.lower() != "100-continue"


def _refused_expectation(request_id: str) -> web.Response:
    """The answer to an Expect header aiohttp refuses: 417 and its phrase, never the value
    (aiohttp's own answer quotes it in text/plain, and names aiohttp's version)."""
    log.info(
        "refused an Expect header other than 100-continue",
        extra={"status": 417, "request_id": request_id},
    )
    return expectation_failed()


class SlowClients:
    """The connections of one server that owe a request head: each closed once it has owed
    one for `timeout` seconds (give or take a sweep), the oldest closed first past `limit`.

    Owing a head: open and no request parsed yet, or waiting for its next request with some
    of it already received. A connection idle between requests owes nothing (aiohttp's
    keep-alive timeout closes it), nor one whose request is being handled."""

    def __init__(
        self, connections: Mapping[RequestHandler, object], timeout: float, limit: int
    ) -> None:
        self._connections = connections
        self._timeout = timeout
        self._limit = limit
        self._owing: dict[Protocol, None] = {}  # in the order they began to owe
        self._timer: asyncio.TimerHandle | None = None
        self._every = min(1.0, timeout / 4)

    def connected(self, connection: RequestHandler) -> None:
        if not isinstance(connection, Protocol):
            return
        loop = asyncio.get_running_loop()
        connection.head_since = loop.time()
        self._owing[connection] = None
        if len(self._owing) > self._limit:
            self._shed()
        if self._timer is None:
            self._timer = loop.call_later(self._every, self._sweep)

    def _shed(self) -> None:
        """Past the limit: forget who paid, then close the oldest that still owe."""
        for connection in list(self._owing):
            if connection.head_since is None or connection.transport is None:
                del self._owing[connection]
        closed = 0
        while len(self._owing) > self._limit:
            connection = next(iter(self._owing))
            del self._owing[connection]
            connection.force_close()
            closed += 1
        if closed:
            log.warning(
                "closed connections past the limit of those owing a request head",
                extra={"event": "slow_clients", "closed": closed, "limit": self._limit},
            )

    def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        owing: dict[Protocol, None] = {}
        late = []
        for connection in self._connections:
            if not isinstance(connection, Protocol):
                continue
            waiting = connection._waiter is not None
            parsed = connection._request_count
            if not waiting or parsed != connection.seen_requests:
                connection.seen_requests, connection.head_since = parsed, None
            elif connection.heard and connection.head_since is None:
                connection.head_since = now  # the first bytes of a later request
            connection.heard = False
            if connection.head_since is None:
                continue
            if now - connection.head_since >= self._timeout:
                late.append(connection)
            else:
                owing[connection] = None
        for connection in late:
            connection.force_close()
        self._owing = owing
        if late:
            log.info(
                "closed connections that sent no whole request head in time",
                extra={"event": "slow_clients", "closed": len(late), "timeout": self._timeout},
            )
        self._timer = loop.call_later(self._every, self._sweep) if self._connections else None
