"""Starting sessions: the one place a ticket is born."""

from __future__ import annotations

from attrs import frozen

from domain.model import ClientInfo, Session, SessionKind, SessionPolicy, User
from domain.ports import Clock, Sessions
from domain.tickets import SessionTicket, TicketKey


@frozen
class LoggedIn:
    user: User
    ticket: SessionTicket
    session: Session


@frozen
class Authenticated:
    """A live session, the digest it is stored under, and whether this request renewed it."""

    session: Session
    digest: str
    renewed: bool = False


class SessionIssuer:
    """The one place a ticket is born or ends.

    A new session always gets a fresh ticket, never one a client sent; under the
    single-session policy, the user's other sessions end first.
    """

    def __init__(
        self, sessions: Sessions, key: TicketKey, clock: Clock, policy: SessionPolicy
    ) -> None:
        self._sessions = sessions
        self._key = key
        self._clock = clock
        self._policy = policy

    async def start(self, user: User, kind: SessionKind, client: ClientInfo) -> LoggedIn:
        ticket = SessionTicket.issue()
        session = self._policy.start(user.id, kind, client, self._clock.now())
        if self._policy.single_session:
            await self._sessions.remove_of_user(user.id)
        await self._sessions.add(self._key.digest(ticket), session)
        return LoggedIn(user=user, ticket=ticket, session=session)

    async def end(self, ticket: SessionTicket | None) -> None:
        """End the session the ticket names, if any; ending none is not an error."""
        if ticket is not None:
            await self._sessions.remove(self._key.digest(ticket))
