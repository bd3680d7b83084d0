"""Each request's context, set by the outermost middleware: its id (a trusted proxy's
X-Request-ID, or a new one), returned in X-Request-ID and carried by every log line made
for it; its deadline, after which it is answered 503 whatever it waits for; its metrics.

Cheap on purpose, as it runs on every request: an id is a per-process random prefix and a
counter, and the metrics' label children are resolved once per route and status. The prefix
is drawn again in every forked process (`--workers N` forks after this module is imported),
and is 48 random bits: ids stay unique across processes and instances."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import itertools
import math
import os
import re
import secrets
from collections import deque
from collections.abc import Iterator, Sequence
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from coatcheck.adapters import deadline
from coatcheck.adapters.running_loop import RunningLoop
from coatcheck.domain.errors import StoreUnavailable
from coatcheck.entrypoints.http.forwarded import Network, trusted
from coatcheck.entrypoints.http.headers import stamp
from coatcheck.entrypoints.http.problems import kind_of, problem
from coatcheck.entrypoints.http.routes import hashes_passwords
from coatcheck.entrypoints.logs import REQUEST_ID, REQUEST_ID_KEY
from coatcheck.entrypoints.metrics import Metrics

REQUEST_ID_HEADER = "X-Request-ID"
_ID_SHAPE = re.compile(r"[A-Za-z0-9._-]{1,64}")


def _new_prefix() -> None:
    global _PREFIX, _NUMBERS
    _PREFIX = secrets.token_hex(6) + "-"
    _NUMBERS = itertools.count(1)


_PREFIX = ""
_NUMBERS = itertools.count(1)
_BODILESS = frozenset({"GET", "HEAD"})
_new_prefix()
os.register_at_fork(after_in_child=_new_prefix)


def new_request_id() -> str:
    """A request id of this process's own: its prefix and the next number, in hex."""
    return f"{_PREFIX}{next(_NUMBERS):x}"


def _offered_id(request: web.Request, proxies: Sequence[Network]) -> str | None:
    offered = request.headers.get(REQUEST_ID_HEADER)
    if offered is None or not _ID_SHAPE.fullmatch(offered) or not trusted(request.remote, proxies):
        return None
    return offered


# An entry of Deadlines: [deadline, task, done, expired].
_AT, _TASK, _DONE, _EXPIRED = range(4)
_DEADLINE_ENTRY = web.RequestKey("deadline_entry", list)
SWEEP_SECONDS = 0.05  # a request past its deadline is answered at most this much later


class Deadlines:
    """Cancels the requests that outlive their deadline, with one timer for all of them
    (every SWEEP_SECONDS while any request is running) rather than a timer of its own per
    request, which costs more than the rest of the deadline's work. Requests of one deadline
    length end in the order they started, so each length keeps a queue in deadline order."""

    def __init__(self) -> None:
        self._queues: dict[float, deque[list[Any]]] = {}
        self._timer: asyncio.TimerHandle | None = None

    def watch(self, seconds: float, at: float, task: asyncio.Task[Any]) -> list[Any]:
        entry = [at, task, False, False]
        queue = self._queues.get(seconds)
        if queue is None:
            queue = self._queues[seconds] = deque()
        queue.append(entry)
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(SWEEP_SECONDS, self._sweep)
        return entry

    def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        for queue in self._queues.values():
            while queue and (queue[0][_DONE] or queue[0][_AT] <= now):
                entry = queue.popleft()
                if not entry[_DONE]:
                    entry[_EXPIRED] = True
                    entry[_TASK].cancel()
        running = any(self._queues.values())
        self._timer = loop.call_later(SWEEP_SECONDS, self._sweep) if running else None


def context_middleware(
    request_deadline: float,
    hashing_deadline: float,
    trusted_proxies: Sequence[str] = (),
    metrics: Metrics | None = None,
    vary_origin: bool = False,
) -> Middleware:
    proxies = [ipaddress.ip_network(item, strict=False) for item in trusted_proxies]
    late = kind_of(StoreUnavailable)
    deadlines = Deadlines()
    requests = metrics.requests if metrics is not None else None
    running = RunningLoop()

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        request_id = (proxies and _offered_id(request, proxies)) or new_request_id()
        request[REQUEST_ID_KEY] = request_id
        named = REQUEST_ID.set(request_id)
        match_info = request.match_info
        seconds = hashing_deadline if hashes_passwords(match_info.handler) else request_deadline
        loop = running.get()
        task = asyncio.current_task(loop)  # given its loop: no get_running_loop() inside
        assert task is not None
        started = loop.time()
        timed = deadline.begin(started + seconds)
        watched = request[_DEADLINE_ENTRY] = deadlines.watch(seconds, started + seconds, task)
        response: web.StreamResponse
        try:
            response = await handler(request)
        except asyncio.CancelledError:
            if not watched[_EXPIRED] or task.uncancel() > 0:
                raise  # not ours, or cancelled for another reason too
            if metrics is not None:
                metrics.deadline_exceeded.inc()
            detail = "no answer within the request's deadline"
            response = problem(late, detail, {"Retry-After": "1"})
        except web.HTTPException as error:  # a redirect and the like, answered by aiohttp
            error.headers[REQUEST_ID_HEADER] = request_id
            stamp(error, vary_origin)
            _close_after_a_bodiless_method_s_body(request, error)
            raise
        finally:
            # Done: the sweep drops the entry later, but nothing of the request (its task
            # holds every object the request made) may wait for it to be freed.
            watched[_DONE], watched[_TASK] = True, None
            deadline.end(timed)
            REQUEST_ID.reset(named)
        if not response.prepared:  # a WebSocket's handshake was stamped as it was prepared
            response.headers[REQUEST_ID_HEADER] = request_id
            stamp(response, vary_origin)
            _close_after_a_bodiless_method_s_body(request, response)
        if requests is not None:
            resource = match_info.route.resource
            requests.observe(resource, request.method, response.status, loop.time() - started)
        return response

    return middleware


def _close_after_a_bodiless_method_s_body(
    request: web.Request, response: web.StreamResponse
) -> None:
    """A GET or HEAD that declares a body (Content-Length, Transfer-Encoding) is answered
    with Connection: close. A proxy that drops such a body but passes its headers on (nginx's
    auth_request, misconfigured) would have the next request on the kept-alive connection,
    maybe another client's, read as that body. (One type check when there is no body.)"""
    if request.body_exists and request.method in _BODILESS:
        response.force_close()


@contextlib.contextmanager
def beyond_deadline(request: web.Request) -> Iterator[None]:
    """For an answer that lasts (a WebSocket, once its handshake is done): the request's
    deadline no longer cancels it, and the stores it asks wait as outside a request."""
    entry = request.get(_DEADLINE_ENTRY)
    if entry is not None:
        entry[_DONE] = True
    unbounded = deadline.begin(math.inf)
    try:
        yield
    finally:
        deadline.end(unbounded)
