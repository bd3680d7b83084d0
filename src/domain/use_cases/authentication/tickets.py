"""What a request's session ticket gives: the live session it names (renewed, or only checked),
its user, and its end."""

from __future__ import annotations

from coatcheck.domain.errors import NotAuthenticated
from coatcheck.domain.model import PublicUser
from coatcheck.domain.ports import Clock, Events, Sessions, Users
from coatcheck.domain.sessions import Authenticated, SessionIssuer, SessionPolicy
from coatcheck.domain.tickets import SessionTicket, TicketKey


class Authenticate:
    """Finds the live session a ticket names.

    - a missing, unknown, revoked or expired ticket raises NotAuthenticated;
    - an expired session is deleted when met;
    - the idle deadline slides, written only once a touch interval has passed,
      and never past the absolute deadline.
    """

    def __init__(
        self, sessions: Sessions, key: TicketKey, clock: Clock, policy: SessionPolicy
    ) -> None:
        self._sessions = sessions
        self._key = key
        self._clock = clock
        self._policy = policy

    async def __call__(self, ticket: SessionTicket | None) -> Authenticated:
        if ticket is None:
            raise NotAuthenticated()
        digest = self._key.digest(ticket)
        session = await self._sessions.get(digest)
        if session is None:
            raise NotAuthenticated()
        now = self._clock.now()
        if not session.is_live(now):
            await self._sessions.remove(digest)
            raise NotAuthenticated()
        renewed = self._policy.renewal(session, now)
        if renewed is None:
            return Authenticated(session, digest)
        if not await self._sessions.replace(digest, renewed):
            raise NotAuthenticated()  # revoked between our read and our write
        return Authenticated(renewed, digest, renewed=True)


class CheckSession:
    """Finds the live session a ticket names, and nothing more: watching a session (an open
    WebSocket) is not using it, so this never renews it, nor deletes it.

    - a missing, unknown, revoked or expired ticket raises NotAuthenticated.
    """

    def __init__(self, sessions: Sessions, key: TicketKey, clock: Clock) -> None:
        self._sessions = sessions
        self._key = key
        self._clock = clock

    async def __call__(self, ticket: SessionTicket | None) -> Authenticated:
        if ticket is None:
            raise NotAuthenticated()
        digest = self._key.digest(ticket)
        session = await self._sessions.get(digest)
        if session is None or not session.is_live(self._clock.now()):
            raise NotAuthenticated()
        return Authenticated(session, digest)


class CurrentUser:
    """The user an authenticated session belongs to.

    - read from the session itself, which carries the user's public fields (every change
      to a user rewrites or ends that user's sessions, so it is never stale);
    - a session written before sessions carried them asks the user store.
    """

    def __init__(self, users: Users) -> None:
        self._users = users

    async def __call__(self, authenticated: Authenticated) -> PublicUser:
        if authenticated.session.user is not None:
            return authenticated.session.user
        user = await self._users.get(authenticated.session.user_id)
        if user is None:
            raise NotAuthenticated()
        return user.public


class LogOut:
    """Ends the session a ticket names, server-side. Ending no session is not an error."""

    def __init__(self, issuer: SessionIssuer, events: Events) -> None:
        self._issuer = issuer
        self._events = events

    async def __call__(self, ticket: SessionTicket | None) -> None:
        await self._issuer.end(ticket)
        if ticket is not None:
            self._events.sessions_ended(None, 1, "log-out")
