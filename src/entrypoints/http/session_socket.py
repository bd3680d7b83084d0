"""GET /authentication/events: a WebSocket that tells its session's holder what happens to
its sessions, and closes the moment that session ends, on whichever instance it ended.

The handshake is authenticated by the session cookie (or a bearer token) and refused from
a foreign Origin, by the rules of the Origin check (a WebSocket is not covered by CORS). It
never renews the session: an open socket is not activity. What the server sends, as JSON
text messages:

    {"type": "ready", "session": "<public id>", "expiresAt": "<time>"}   once, first
    {"type": "sessions-changed"}        a session of the same user started or ended
    {"type": "session-ended", "reason": "logged-out" | "revoked" | "password-changed"
                                        | "password-reset" | "account-deleted"
                                        | "replaced" | "expired" | "ended"}

after which it closes the socket with code 4001 ("session ended"); 1001 when the server
shuts down. What the client sends is ignored. The hub (socket_hub.py) does the watching;
`request.app[HUB].open_sockets` counts the open sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from coatcheck.domain.errors import NotAuthenticated
from coatcheck.domain.ports import SessionEventFeed
from coatcheck.domain.throttle import client_network
from coatcheck.entrypoints.http import headers
from coatcheck.entrypoints.http.context import beyond_deadline
from coatcheck.entrypoints.http.keys import METRICS, SERVICES, SETTINGS, services
from coatcheck.entrypoints.http.origin import cross_site
from coatcheck.entrypoints.http.problems import CrossSiteRequest, RequestInvalid, TooManySockets
from coatcheck.entrypoints.http.responses import FieldError
from coatcheck.entrypoints.http.routes import Reply, answers
from coatcheck.entrypoints.http.socket_hub import SESSION_ENDED, EventHub, SocketLimits
from coatcheck.entrypoints.http.tickets import (
    bearer_value,
    held_ticket,
    planted_since_the_prefix,
)

__all__ = ["HUB", "SESSION_ENDED", "EventHub", "setup"]

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

HEARTBEAT_SECONDS = 25.0  # pings that find a vanished client
MAX_MESSAGE_BYTES = 4096  # what a client sends is ignored: it need not be big
RESTART_SECONDS = 1.0  # a listener that failed starts again after this

HUB = web.AppKey("events hub", EventHub)


@routes.get("/authentication/events")
@answers(
    Reply(101, "a WebSocket of JSON session events; closed with 4001 when the session ends"),
    raises=(CrossSiteRequest, RequestInvalid, TooManySockets),
)
async def session_events(request: web.Request) -> web.WebSocketResponse:
    """Session events over a WebSocket; it closes when the session ends.

    JSON text messages: `{"type": "ready", "session", "expiresAt"}` first, then
    `{"type": "sessions-changed"}` whenever another session of the user starts or ends,
    and `{"type": "session-ended", "reason"}` (logged-out, revoked, password-changed,
    password-reset, account-deleted, replaced, expired, ended) just before the server closes
    the socket with code 4001.
    Refused from a foreign Origin, and (429) over the open sockets' limits per session,
    per user, per client network and per process; never renews the session.
    """
    hub = request.app[HUB]
    if bearer_value(request) is None and cross_site(request, hub.allowed_origins):
        raise CrossSiteRequest()
    socket = web.WebSocketResponse(heartbeat=HEARTBEAT_SECONDS, max_msg_size=MAX_MESSAGE_BYTES)
    if not socket.can_prepare(request).ok:
        raise RequestInvalid([FieldError(field="Upgrade", message="must be a WebSocket handshake")])
    mark = hub.heard
    ticket = await held_ticket(request)
    watched = await services(request).check_session(ticket)
    assert ticket is not None  # check_session refuses None
    if await planted_since_the_prefix(request, watched.session):
        raise NotAuthenticated()
    network = client_network(request.remote or "", request.app[SETTINGS].throttle_ipv6_prefix)
    try:
        place = hub.place(watched.session, network)
    except TooManySockets as refused:
        request.app[METRICS].websockets_refused.labels(refused.limit).inc()
        raise
    with place:
        headers.stamp(socket, vary_origin=bool(hub.allowed_origins))  # prepared here
        await socket.prepare(request)
        with beyond_deadline(request):  # the handshake had one; the socket lives on
            await hub.serve(socket, ticket, watched.session, mark)
    return socket


async def _listen(feed: SessionEventFeed, hub: EventHub) -> None:
    """The feed, listened to for as long as the app runs, started again should it fail."""
    while True:
        try:
            await feed.listen(hub.deliver, hub.resync)
        except Exception:
            log.exception("session events: the listener failed; it starts again")
        await asyncio.sleep(RESTART_SECONDS)


async def _hub(app: web.Application) -> AsyncIterator[None]:
    found, settings = app[SERVICES], app[SETTINGS]
    limits = SocketLimits(
        settings.websockets_per_session,
        settings.websockets_per_user,
        settings.websockets_per_process,
        settings.websockets_per_network,
    )
    hub = EventHub(found.check_session, found.clock, settings.allowed_origins, limits)
    app[HUB] = hub
    app[METRICS].websockets.set_function(lambda: hub.open_sockets)
    listener = asyncio.create_task(_listen(found.session_events, hub))
    try:
        yield
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener


async def _close_sockets(app: web.Application) -> None:
    hub = app.get(HUB)
    if hub is not None:
        await hub.close_all()


def setup(app: web.Application) -> None:
    """The route and its hub; after the services' cleanup context, which the hub uses."""
    app.add_routes(routes)
    app.cleanup_ctx.append(_hub)
    app.on_shutdown.append(_close_sockets)
