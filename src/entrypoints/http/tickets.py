"""The ticket's way over HTTP: aiohttp-session carries it in a cookie or reads it from a
bearer header; sessions themselves live behind the domain's Sessions port."""

from __future__ import annotations

import asyncio
import math
from datetime import datetime

from aiohttp import hdrs, web
from aiohttp_session import AbstractStorage, Session, get_session, new_session
from attrs import frozen

from coatcheck.domain.errors import CoatcheckError, NotAuthenticated
from coatcheck.domain.model import Session as DomainSession
from coatcheck.domain.model import SessionKind, to_the_second
from coatcheck.domain.ports import Milestones
from coatcheck.domain.sessions import Authenticated, LoggedIn
from coatcheck.domain.tickets import DeviceToken, SessionTicket
from coatcheck.entrypoints.http.cookie_header import cookie_of
from coatcheck.entrypoints.http.keys import services
from coatcheck.entrypoints.settings import Settings

TICKET = "ticket"
DEVICE = "device"
LEGACY = "legacy"  # the ticket came in the cookie under its legacy name
NO_STORE = {"Cache-Control": "no-store"}  # on every answer (http/headers.py)
_EPOCH = "Thu, 01 Jan 1970 00:00:00 GMT"


def bearer_value(request: web.BaseRequest) -> str | None:
    """The credentials of an `Authorization: Bearer ...` header, if there is one."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def held_by(request: web.BaseRequest, cookie: CookiePolicy) -> tuple[SessionTicket | None, bool]:
    """The ticket a request holds: its bearer header's, else its cookie's (under the cookie's
    name, or its legacy name from before the __Host- prefix). Nowhere else. And whether it
    came under the legacy name."""
    raw = bearer_value(request)
    if raw is not None:
        return SessionTicket.parse(raw), False
    raw = cookie_of(request, cookie.name)
    if raw is None and cookie.legacy_name is not None:
        raw = cookie_of(request, cookie.legacy_name)
        return SessionTicket.parse(raw), raw is not None
    return SessionTicket.parse(raw), False


def ticket_of(request: web.BaseRequest, cookie: CookiePolicy) -> SessionTicket | None:
    return held_by(request, cookie)[0]


@frozen
class CookiePolicy:
    """Every attribute of the session cookie and of the device cookie (which a browser keeps
    to be known on the accounts it logged in to), in one place."""

    name: str
    secure: bool = True
    samesite: str = "Lax"
    device_max_age: int = 90 * 24 * 60 * 60
    legacy_name: str | None = None  # the name before the __Host- prefix, still read

    @classmethod
    def of(cls, settings: Settings) -> CookiePolicy:
        return cls(
            settings.cookie_full_name,
            settings.cookie_secure,
            settings.cookie_samesite,
            settings.throttle_device_lifetime,
            settings.cookie_legacy_name,
        )

    def sent_with(self, request: web.BaseRequest) -> bool:
        """Whether the request carries the session cookie (under either name)."""
        cookies = request.cookies
        return self.name in cookies or (
            self.legacy_name is not None and self.legacy_name in cookies
        )

    @property
    def device_name(self) -> str:
        return self.name + "-device"

    def write(
        self,
        response: web.StreamResponse,
        value: str,
        max_age: int | None,
        *,
        name: str | None = None,
    ) -> None:
        response.set_cookie(
            name or self.name,
            value,
            max_age=max_age,
            expires=_EPOCH if max_age == 0 else None,
            path="/",
            secure=self.secure,
            httponly=True,
            samesite=self.samesite,
        )


class LegacyCutoff:
    """When the cookie first took its __Host- prefix, in this deployment: sessions made before
    were handed out under the legacy name (by a release without the prefix), sessions made
    since only ever under the new one. Recorded once in the sessions' store (Milestones), so
    every instance and every restart agree on it; each process proposes the moment it
    started, and the first one recorded stays. (Not a process's own start: after a restart,
    a sibling site could plant a legacy-name cookie of any session made before it.)"""

    NAME = "cookie-host-prefix"

    def __init__(self, milestones: Milestones, started: datetime) -> None:
        self._milestones = milestones
        self._started = started
        self._moment: datetime | None = None

    async def moment(self) -> datetime:
        """StoreUnavailable if the store does not answer (the first time), as any request
        that needs it."""
        if self._moment is None:
            recorded = await self._milestones.first(self.NAME, self._started)
            self._moment = to_the_second(recorded)  # sessions' times are to the second
        return self._moment

    async def record(self, retry_seconds: float = 1.0) -> None:
        """Record it now, or as soon as the store answers."""
        while True:
            try:
                await self.moment()
                return
            except CoatcheckError:  # down, or this process overloaded: again, later
                await asyncio.sleep(retry_seconds)


COOKIES = web.AppKey("cookies", CookiePolicy)
LEGACY_CUTOFF = web.AppKey("legacy_cookie_cutoff", LegacyCutoff)


class TicketStorage(AbstractStorage):
    """Reads the ticket from a bearer header (first) or the cookie (or the cookie under its
    legacy name); writes only cookies.

    A request that authenticates with a bearer header never gets a Set-Cookie.
    """

    def __init__(self, cookie: CookiePolicy) -> None:
        super().__init__(cookie_name=cookie.name, httponly=True, path="/")
        self._cookie = cookie

    async def load_session(self, request: web.Request) -> Session:
        ticket, legacy = held_by(request, self._cookie)
        if ticket is None:
            return Session(None, data=None, new=True)
        data = {TICKET: ticket, LEGACY: True} if legacy else {TICKET: ticket}
        return Session(None, data={"session": data}, new=False)

    async def save_session(
        self, request: web.Request, response: web.StreamResponse, session: Session
    ) -> None:
        if bearer_value(request) is not None:
            return
        ticket = _held(session, TICKET)
        if isinstance(ticket, SessionTicket):
            self._cookie.write(response, ticket.value, session.max_age)
        elif self.load_cookie(request) is not None:
            self._cookie.write(response, "", 0)
        legacy = self._cookie.legacy_name
        if legacy is not None and legacy in request.cookies:
            self._cookie.write(response, "", 0, name=legacy)
        device = _held(session, DEVICE)
        if isinstance(device, DeviceToken):
            cookie = self._cookie
            cookie.write(response, device.value, cookie.device_max_age, name=cookie.device_name)


def cookie_max_age(session: DomainSession) -> int | None:
    """Persistent cookies live as long as their session from its last write (now, when it
    was just made or renewed); others die with the browser."""
    if session.kind is not SessionKind.REMEMBERED:
        return None
    return max(0, math.floor((session.expires_at - session.last_seen_at).total_seconds()))


def _held(session: Session, key: str) -> object:
    """What the session holds under `key`, or None: Mapping.get raises and catches a KeyError
    for a missing key, which costs more than the rest of a request's session work."""
    return session[key] if key in session else None  # noqa: SIM401 -- see above


async def held_ticket(request: web.Request) -> SessionTicket | None:
    ticket = _held(await get_session(request), TICKET)
    return ticket if isinstance(ticket, SessionTicket) else None


def held_device(request: web.Request) -> DeviceToken | None:
    """The token of the device cookie, if the client holds one of the shape we issue."""
    return DeviceToken.parse(request.cookies.get(request.app[COOKIES].device_name))


async def hand_out(request: web.Request, logged_in: LoggedIn) -> None:
    """Give the client the ticket of its new session (a fresh aiohttp session, never the old)
    and the token that makes its device known on the account."""
    session = await new_session(request)
    session[TICKET] = logged_in.ticket
    session.max_age = cookie_max_age(logged_in.session)
    if logged_in.device is not None:
        session[DEVICE] = logged_in.device


async def take_back(request: web.Request) -> None:
    """Clear the client's cookie (Max-Age=0)."""
    (await get_session(request)).invalidate()


async def authenticate(request: web.Request) -> Authenticated:
    """The caller's live session; a rejected ticket also clears the cookie.

    The ticket is read straight from the request: the aiohttp session (and its cookie) is
    only taken up when there is something to write, a renewal or a cookie to clear, not
    on every check."""
    headers = request.headers
    if hdrs.AUTHORIZATION not in headers and hdrs.COOKIE not in headers:
        return await services(request).authenticate(None)  # no ticket, no cookie to clear
    cookie = request.app[COOKIES]
    ticket, legacy = held_by(request, cookie)
    try:
        authenticated = await services(request).authenticate(ticket)
    except NotAuthenticated:
        if cookie.sent_with(request):
            (await get_session(request)).invalidate()
        raise
    if authenticated.renewed:
        max_age = cookie_max_age(authenticated.session)
        if max_age is not None:
            session = await get_session(request)
            session.max_age = max_age
            session.changed()
    if legacy:
        await _adopt_legacy_cookie(request, await get_session(request), authenticated)
    return authenticated


async def recently_authenticated(request: web.Request) -> Authenticated:
    """The caller's live session, if it proved who holds it within the re-authentication
    window (ReauthenticationRequired otherwise)."""
    caller = await authenticate(request)
    services(request).recent_authentication(caller)
    return caller


async def _adopt_legacy_cookie(
    request: web.Request, session: Session, caller: Authenticated
) -> None:
    """Answer a cookie under the legacy name with the new one, if a release without the
    prefix can have handed it out; one planted since (by a sibling site) is refused and
    cleared."""
    if await planted_since_the_prefix(request, caller.session):
        session.invalidate()
        raise NotAuthenticated()
    session.max_age = cookie_max_age(caller.session)
    session.changed()


async def planted_since_the_prefix(request: web.Request, session: DomainSession) -> bool:
    """Whether the request holds `session`'s ticket under the cookie's legacy name although
    the session was made since the __Host- prefix: no release handed that cookie out, so a
    sibling site planted it. Refused wherever a ticket is taken (`authenticate`, the events
    socket), never adopted."""
    if not held_by(request, request.app[COOKIES])[1]:
        return False
    return session.created_at >= await request.app[LEGACY_CUTOFF].moment()
