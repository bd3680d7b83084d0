"""The ticket's way over HTTP: aiohttp-session carries it in a cookie or reads it from a
bearer header; sessions themselves live behind the domain's Sessions port."""

from __future__ import annotations

import math

from aiohttp import web
from aiohttp_session import AbstractStorage, Session, get_session, new_session
from attrs import frozen

from domain.errors import NotAuthenticated
from domain.model import Session as DomainSession
from domain.model import SessionKind
from domain.sessions import Authenticated, LoggedIn
from domain.tickets import DeviceToken, SessionTicket
from entrypoints.http.keys import services

TICKET = "ticket"
DEVICE = "device"
NO_STORE = {"Cache-Control": "no-store"}  # on every response that carries a ticket
_EPOCH = "Thu, 01 Jan 1970 00:00:00 GMT"


def bearer_value(request: web.Request) -> str | None:
    """The credentials of an `Authorization: Bearer ...` header, if there is one."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


@frozen
class CookiePolicy:
    """Every attribute of the session cookie and of the device cookie (which a browser keeps
    to be known on the accounts it logged in to), in one place."""

    name: str
    secure: bool = True
    samesite: str = "Lax"
    device_max_age: int = 90 * 24 * 60 * 60

    @property
    def device_name(self) -> str:
        return self.name + "-device"

    def write(
        self, response: web.StreamResponse, value: str, max_age: int | None, *, device: bool = False
    ) -> None:
        response.set_cookie(
            self.device_name if device else self.name,
            value,
            max_age=max_age,
            expires=_EPOCH if max_age == 0 else None,
            path="/",
            secure=self.secure,
            httponly=True,
            samesite=self.samesite,
        )


COOKIES = web.AppKey("cookies", CookiePolicy)


class TicketStorage(AbstractStorage):
    """Reads the ticket from a bearer header (first) or the cookie; writes only cookies.

    A request that authenticates with a bearer header never gets a Set-Cookie.
    """

    def __init__(self, cookie: CookiePolicy) -> None:
        super().__init__(cookie_name=cookie.name, httponly=True, path="/")
        self._cookie = cookie

    async def load_session(self, request: web.Request) -> Session:
        raw = bearer_value(request)
        if raw is None:
            raw = self.load_cookie(request)
        ticket = SessionTicket.parse(raw)
        if ticket is None:
            return Session(None, data=None, new=True)
        return Session(None, data={"session": {TICKET: ticket}}, new=False)

    async def save_session(
        self, request: web.Request, response: web.StreamResponse, session: Session
    ) -> None:
        if bearer_value(request) is not None:
            return
        ticket = session.get(TICKET)
        if isinstance(ticket, SessionTicket):
            self._cookie.write(response, ticket.value, session.max_age)
        elif self.load_cookie(request) is not None:
            self._cookie.write(response, "", 0)
        device = session.get(DEVICE)
        if isinstance(device, DeviceToken):
            self._cookie.write(response, device.value, self._cookie.device_max_age, device=True)
        response.headers.update(NO_STORE)


def _cookie_max_age(session: DomainSession) -> int | None:
    """Persistent cookies live as long as their session from its last write (now, when it
    was just made or renewed); others die with the browser."""
    if session.kind is not SessionKind.REMEMBERED:
        return None
    return max(0, math.floor((session.expires_at - session.last_seen_at).total_seconds()))


async def held_ticket(request: web.Request) -> SessionTicket | None:
    ticket = (await get_session(request)).get(TICKET)
    return ticket if isinstance(ticket, SessionTicket) else None


def held_device(request: web.Request) -> DeviceToken | None:
    """The token of the device cookie, if the client holds one of the shape we issue."""
    return DeviceToken.parse(request.cookies.get(request.app[COOKIES].device_name))


async def hand_out(request: web.Request, logged_in: LoggedIn) -> None:
    """Give the client the ticket of its new session (a fresh aiohttp session, never the old)
    and the token that makes its device known on the account."""
    session = await new_session(request)
    session[TICKET] = logged_in.ticket
    session.max_age = _cookie_max_age(logged_in.session)
    if logged_in.device is not None:
        session[DEVICE] = logged_in.device


async def take_back(request: web.Request) -> None:
    """Clear the client's cookie (Max-Age=0)."""
    (await get_session(request)).invalidate()


async def authenticate(request: web.Request) -> Authenticated:
    """The caller's live session; a rejected ticket also clears the cookie."""
    session = await get_session(request)
    try:
        authenticated = await services(request).authenticate(await held_ticket(request))
    except NotAuthenticated:
        session.invalidate()
        raise
    if authenticated.renewed:
        session.max_age = _cookie_max_age(authenticated.session)
        if session.max_age is not None:
            session.changed()
    return authenticated
