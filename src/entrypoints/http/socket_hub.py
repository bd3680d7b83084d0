"""The events WebSocket's hub: one per process, it keeps the open sockets by user and closes
each the moment its session ends.

An event re-checks the sockets of the sessions it names (the store, not the event, has the
last word) and tells the user's other sockets that the list changed. Each socket also
re-checks its session when the session's deadline passes (expiry publishes nothing), and
every socket is re-checked whenever the feed resyncs (its connection came back: endings may
have been missed). A re-check never renews the session: an open socket is not activity.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import Counter
from collections.abc import Iterable
from typing import Any

from aiohttp import WSCloseCode, web
from attrs import frozen

from coatcheck.domain.errors import NotAuthenticated, StoreUnavailable
from coatcheck.domain.events import EndReason, SessionEvent, SessionsEnded
from coatcheck.domain.model import Session
from coatcheck.domain.ports import Clock
from coatcheck.domain.tickets import SessionTicket
from coatcheck.domain.use_cases import CheckSession
from coatcheck.entrypoints.http.problems import TooManySockets
from coatcheck.entrypoints.presentation import timestamp

log = logging.getLogger(__name__)

SESSION_ENDED = 4001  # the close code once the socket's session has ended
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


@frozen
class SocketLimits:
    """The most sockets open at once in this process: of one session, of one user (counted
    in this process only: with N processes a user may hold N times as many), of one client
    network (as the throttles count it: an IPv4 address, an IPv6 /64), of all. Without the
    network's, 313 accounts of one client (32 sockets each) would hold the whole process."""

    per_session: int = 8
    per_user: int = 32
    per_process: int = 10_000
    per_network: int = 1_000


class Place:
    """Places held in the hub's counts; given back when its `with` ends."""

    def __init__(self, places: Counter[str], keys: tuple[str, ...]) -> None:
        self._places = places
        self._keys = keys

    def __enter__(self) -> None:
        return None

    def __exit__(self, *_exception: object) -> None:
        self._places.subtract(self._keys)
        for key in self._keys:
            if self._places[key] <= 0:
                del self._places[key]


class EventHub:
    """The sockets of one process, by user; `open_sockets` is how many are open."""

    def __init__(
        self,
        check: CheckSession,
        clock: Clock,
        allowed_origins: Iterable[str],
        limits: SocketLimits = SocketLimits(),
    ) -> None:
        self._check = check
        self._clock = clock
        self.allowed_origins = frozenset(origin.lower() for origin in allowed_origins)
        self._limits = limits
        self._places: Counter[str] = Counter()  # by "session:<id>", "user:<id>", "process"
        self._by_user: dict[uuid.UUID, set[Watch]] = {}
        self._none_open = asyncio.Event()
        self._none_open.set()
        self.heard = 0  # events and resyncs so far: a socket that opened meanwhile re-checks

    def place(self, session: Session, network: str | None = None) -> Place:
        """A place for a socket of this session, opened from this client network (None: no
        address to count by), held until the Place's `with` ends; TooManySockets, and
        nothing held, if one of the limits is reached. Checked and taken with no await in
        between, so parallel handshakes cannot overshoot."""
        limits = self._limits
        keys = {
            f"session:{session.id}": (limits.per_session, "session"),
            f"user:{session.user_id}": (limits.per_user, "user"),
            "process": (limits.per_process, "process"),
        }
        if network is not None:
            keys[f"network:{network}"] = (limits.per_network, "network")
        for key, (limit, name) in keys.items():
            if self._places[key] >= limit:
                raise TooManySockets(name)
        self._places.update(keys.keys())
        return Place(self._places, tuple(keys))

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
