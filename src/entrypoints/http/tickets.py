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
from domain.tickets import SessionTicket
from entrypoints.http.keys import services
from entrypoints.settings import Settings

TICKET = "ticket"
NO_STORE = {"Cache-Control": "no-store"}  # on every response that carries a ticket
_EPOCH = "Thu, 01 Jan 1970 00:00:00 GMT"


def bearer_value(request: web.BaseRequest) -> str | None:
    """The credentials of an `Authorization: Bearer ...` header, if there is one."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def ticket_of(request: web.BaseRequest, cookie_name: str) -> SessionTicket | None:
    """The ticket a request holds: its bearer header's, else its cookie's. Nowhere else."""
    raw = bearer_value(request)
    if raw is None:
        raw = request.cookies.get(cookie_name)
    return SessionTicket.parse(raw)


@frozen
class CookiePolicy:
    """Every attribute of the session cookie, in one place."""

    name: str
    secure: bool = True
    samesite: str = "Lax"

    @classmethod
    def of(cls, settings: Settings) -> CookiePolicy:
        return cls(settings.cookie_full_name, settings.cookie_secure, settings.cookie_samesite)

    def write(self, response: web.StreamResponse, value: str, max_age: int | None) -> None:
        response.set_cookie(
            self.name,
            value,
            max_age=max_age,
            expires=_EPOCH if max_age == 0 else None,
            path="/",
            secure=self.secure,
            httponly=True,
            samesite=self.samesite,
        )


class TicketStorage(AbstractStorage):
    """Reads the ticket from a bearer header (first) or the cookie; writes only cookies.

    A request that authenticates with a bearer header never gets a Set-Cookie.
    """

    def __init__(self, cookie: CookiePolicy) -> None:
        super().__init__(cookie_name=cookie.name, httponly=True, path="/")
        self._cookie = cookie

    async def load_session(self, request: web.Request) -> Session:
        ticket = ticket_of(request, self._cookie.name)
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
        response.headers.update(NO_STORE)


def cookie_max_age(session: DomainSession) -> int | None:
    """Persistent cookies live as long as their session from its last write (now, when it
    was just made or renewed); others die with the browser."""
    if session.kind is not SessionKind.REMEMBERED:
        return None
    return max(0, math.floor((session.expires_at - session.last_seen_at).total_seconds()))


async def held_ticket(request: web.Request) -> SessionTicket | None:
    ticket = (await get_session(request)).get(TICKET)
    return ticket if isinstance(ticket, SessionTicket) else None


async def hand_out(request: web.Request, logged_in: LoggedIn) -> None:
    """Give the client the ticket of its new session (a fresh aiohttp session, never the old)."""
    session = await new_session(request)
    session[TICKET] = logged_in.ticket
    session.max_age = cookie_max_age(logged_in.session)


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
        session.max_age = cookie_max_age(authenticated.session)
        if session.max_age is not None:
            session.changed()
    return authenticated
