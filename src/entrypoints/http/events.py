"""GET /authentication/events: a WebSocket that tells its session's holder what happens to
its sessions, and closes the moment that session ends, on whichever instance it ended.

The handshake is authenticated by the session cookie (or a bearer token) and refused from
a foreign Origin, by the rules of the Origin check (a WebSocket is not covered by CORS). It
never renews the session: an open socket is not activity. What the server sends, as JSON
text messages:

    {"type": "ready", "session": "<public id>", "expiresAt": "<time>"}   once, first
    {"type": "sessions-changed"}        a session of the same user started or ended
    {"type": "session-ended", "reason": "logged-out" | "revoked" | "password-changed"
                                        | "replaced" | "expired" | "ended"}

after which it closes the socket with code 4001 ("session ended"); 1001 when the server
shuts down. What the client sends is ignored.

One hub per process listens to the SessionEventFeed once and keeps its sockets by user.
An event re-checks the sockets of the sessions it names (the store, not the event, has the
last word), and tells the user's other sockets that the list changed. Each socket also
re-checks its session when the session's deadline passes (expiry publishes nothing), and
every socket is re-checked whenever the feed resyncs (its connection came back: endings
may have been missed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Iterable
from typing import Any

from aiohttp import WSCloseCode, web

from domain.errors import NotAuthenticated, StoreUnavailable
from domain.events import EndReason, SessionEvent, SessionsEnded
from domain.model import Session
from domain.ports import Clock, SessionEventFeed
from domain.tickets import SessionTicket
from domain.use_cases import CheckSession
from entrypoints.http.keys import SERVICES, SETTINGS, services
from entrypoints.http.origin import cross_site
from entrypoints.http.problems import CrossSiteRequest, RequestInvalid
from entrypoints.http.responses import FieldError
from entrypoints.http.routes import Reply, answers
from entrypoints.http.tickets import bearer_value, held_ticket
from entrypoints.presentation import timestamp

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

SESSION_ENDED = 4001  # the close code once the socket's session has ended
HEARTBEAT_SECONDS = 25.0  # pings that find a vanished client
MAX_MESSAGE_BYTES = 4096  # what a client sends is ignored: it need not be big
RETRY_SECONDS = 1.0  # a re-check that the store could not answer is tried again
LATE_SECONDS = 0.01  # woken this much after a deadline, so that it has passed


class Watch:
    """One open socket and what its watcher knows of the session it watches. Others only
    poke it; the watcher alone writes to the socket and closes it."""

    def __init__(
        self, socket: web.WebSocketResponse, ticket: SessionTicket, session: Session
    ) -> None:
        self.socket = socket
        self.ticket = ticket
        self.session_id = session.id
        self.user_id = session.user_id
        self.expires_at = session.expires_at
        self.wake = asyncio.Event()
        self.recheck = False
        self.changed = False
        self.reason: EndReason | None = None  # why an event said the session ended
        self.gone = False  # the client closed the socket, or its connection ended
        self.shutdown = False

    def poke(
        self,
        recheck: bool = False,
        changed: bool = False,
        reason: EndReason | None = None,
        gone: bool = False,
        shutdown: bool = False,
    ) -> None:
        self.recheck |= recheck
        self.changed |= changed
        self.reason = reason or self.reason
        self.gone |= gone
        self.shutdown |= shutdown
        self.wake.set()


class EventHub:
    """The sockets of one process, by user; `open_sockets` is how many are open."""

    def __init__(self, check: CheckSession, clock: Clock, allowed_origins: Iterable[str]) -> None:
        self._check = check
        self._clock = clock
        self.allowed_origins = frozenset(origin.lower() for origin in allowed_origins)
        self._by_user: dict[uuid.UUID, set[Watch]] = {}
        self._none_open = asyncio.Event()
        self._none_open.set()
        self.heard = 0  # events and resyncs so far: a socket that opened meanwhile re-checks

    @property
    def open_sockets(self) -> int:
        return sum(len(watches) for watches in self._by_user.values())

    def deliver(self, event: SessionEvent) -> None:
        self.heard += 1
        for watch in self._by_user.get(event.user_id, ()):
            if isinstance(event, SessionsEnded) and event.covers(watch.session_id):
                watch.poke(recheck=True, reason=event.reason)
            else:
                watch.poke(changed=True)

    def resync(self) -> None:
        self.heard += 1
        for watch in self._watches():
            watch.poke(recheck=True)

    async def serve(
        self, socket: web.WebSocketResponse, ticket: SessionTicket, session: Session, mark: int
    ) -> None:
        """Watch the session until the socket closes; `mark` is `heard` before its check."""
        watch = Watch(socket, ticket, session)
        self._by_user.setdefault(watch.user_id, set()).add(watch)
        self._none_open.clear()
        # A reader of its own drains what the client sends (closes, pongs), so that the
        # watcher can stop it before closing: a close from beside a pending read would not
        # wait for the client's answer, and the client would see an abnormal closure.
        reader = asyncio.create_task(_drain(socket))
        reader.add_done_callback(lambda _: watch.poke(gone=True))
        try:
            if self.heard != mark:
                watch.poke(recheck=True)
            ready = {"type": "ready", "session": watch.session_id}
            await _send(watch, ready | {"expiresAt": timestamp(watch.expires_at)})
            await self._follow(watch, reader)
        except Exception:
            log.exception("session events: a socket's watcher failed")
            await _close(watch, reader, WSCloseCode.INTERNAL_ERROR, b"")
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            watches = self._by_user[watch.user_id]
            watches.discard(watch)
            if not watches:
                del self._by_user[watch.user_id]
            if not self._by_user:
                self._none_open.set()

    async def close_all(self, seconds: float = 5.0) -> None:
        """Close every socket (the server is shutting down), waiting `seconds` at most."""
        for watch in self._watches():
            watch.poke(shutdown=True)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._none_open.wait()

    def _watches(self) -> list[Watch]:
        return [watch for watches in self._by_user.values() for watch in watches]

    async def _follow(self, watch: Watch, reader: asyncio.Task[None]) -> None:
        while True:
            if not await self._sleep(watch):
                watch.recheck = True  # the deadline passed
            if watch.gone:
                return
            if watch.shutdown:
                await _close(watch, reader, WSCloseCode.GOING_AWAY, b"server shutdown")
                return
            recheck, changed, reason = watch.recheck, watch.changed, watch.reason
            watch.recheck, watch.changed, watch.reason = False, False, None
            if recheck:
                try:
                    session = (await self._check(watch.ticket)).session
                except NotAuthenticated:
                    await _send(
                        watch, {"type": "session-ended", "reason": self._why(watch, reason)}
                    )
                    await _close(watch, reader, SESSION_ENDED, b"session ended")
                    return
                except StoreUnavailable:
                    await asyncio.sleep(RETRY_SECONDS)
                    watch.poke(recheck=True, changed=changed, reason=reason)
                    continue
                watch.expires_at = session.expires_at
                changed = changed or reason is not None  # another session of the user ended
            if changed:
                await _send(watch, {"type": "sessions-changed"})

    async def _sleep(self, watch: Watch) -> bool:
        """Until poked (True) or the session's deadline has passed (False)."""
        delay = (watch.expires_at - self._clock.now()).total_seconds() + LATE_SECONDS
        try:
            async with asyncio.timeout(max(delay, 0)):
                await watch.wake.wait()
        except TimeoutError:
            return False
        finally:
            watch.wake.clear()
        return True

    def _why(self, watch: Watch, reason: EndReason | None) -> str:
        if reason is not None:
            return reason.value
        return "expired" if self._clock.now() >= watch.expires_at else "ended"


async def _drain(socket: web.WebSocketResponse) -> None:
    async for _message in socket:
        pass  # what a client sends is ignored


async def _close(watch: Watch, reader: asyncio.Task[None], code: int, message: bytes) -> None:
    reader.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await reader
    await watch.socket.close(code=code, message=message)


async def _send(watch: Watch, message: dict[str, Any]) -> None:
    with contextlib.suppress(ConnectionError):  # the client is gone: the reader sees it too
        await watch.socket.send_json(message)


HUB = web.AppKey("events hub", EventHub)


@routes.get("/authentication/events")
@answers(
    Reply(101, "a WebSocket of JSON session events; closed with 4001 when the session ends"),
    raises=(CrossSiteRequest, RequestInvalid),
)
async def session_events(request: web.Request) -> web.WebSocketResponse:
    """Session events over a WebSocket; it closes when the session ends.

    JSON text messages: `{"type": "ready", "session", "expiresAt"}` first, then
    `{"type": "sessions-changed"}` whenever another session of the user starts or ends,
    and `{"type": "session-ended", "reason"}` (logged-out, revoked, password-changed,
    replaced, expired, ended) just before the server closes the socket with code 4001.
    Refused from a foreign Origin; never renews the session.
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
    await socket.prepare(request)
    await hub.serve(socket, ticket, watched.session, mark)
    return socket


async def _listen(feed: SessionEventFeed, hub: EventHub) -> None:
    """The feed, listened to for as long as the app runs, started again should it fail."""
    while True:
        try:
            await feed.listen(hub.deliver, hub.resync)
        except Exception:
            log.exception("session events: the listener failed; it starts again")
        await asyncio.sleep(RETRY_SECONDS)


async def _hub(app: web.Application) -> AsyncIterator[None]:
    found = app[SERVICES]
    hub = EventHub(found.check_session, found.clock, app[SETTINGS].allowed_origins)
    app[HUB] = hub
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
