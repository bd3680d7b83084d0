"""Sessions: how long they live, and the one place a ticket is born or ends."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta

from attrs import evolve, frozen

from coatcheck.domain.events import EndReason, SessionsChanged, SessionsEnded
from coatcheck.domain.model import (
    AuthMethod,
    ClientInfo,
    PublicUser,
    Session,
    SessionKind,
    User,
    to_the_second,
)
from coatcheck.domain.ports import Clock, SessionEvents, Sessions
from coatcheck.domain.tickets import DeviceToken, SessionTicket, TicketKey


def new_session_id() -> str:
    """The public id of a session: random, unrelated to its ticket, useless as one.
    Hex, so that it never starts with "-" and reads as an option on a command line."""
    return secrets.token_hex(8)


@frozen
class SessionLifetime:
    idle: timedelta
    absolute: timedelta


@frozen
class SessionPolicy:
    """How long sessions live and how often their renewal is written."""

    browser: SessionLifetime = SessionLifetime(timedelta(minutes=30), timedelta(hours=12))
    persistent: SessionLifetime = SessionLifetime(timedelta(days=30), timedelta(days=90))
    touch_interval: timedelta = timedelta(minutes=1)
    single_session: bool = False

    def lifetime(self, kind: SessionKind) -> SessionLifetime:
        return self.persistent if kind.persistent else self.browser

    def start(
        self,
        user_id: uuid.UUID,
        kind: SessionKind,
        client: ClientInfo,
        now: datetime,
        user: PublicUser | None = None,
    ) -> Session:
        # Made to the millisecond (sessions of one second list in order); lived to the second.
        created = now.replace(microsecond=now.microsecond // 1000 * 1000)
        now = to_the_second(now)
        lifetime = self.lifetime(kind)
        absolute = now + lifetime.absolute
        return Session(
            id=new_session_id(),
            user_id=user_id,
            kind=kind,
            created_at=created,
            last_seen_at=now,
            expires_at=min(now + lifetime.idle, absolute),
            absolute_expires_at=absolute,
            client=client,
            user=user,
        )

    def renewal(self, session: Session, now: datetime) -> Session | None:
        """The session slid forward to `now`, or None while a write is not yet due.

        Due once a touch interval (at most a quarter of the idle window) has
        passed since the last write; never past the absolute deadline.
        """
        idle = self.lifetime(session.kind).idle
        due_after = min(self.touch_interval, idle / 4)
        if now - session.last_seen_at < due_after:  # the usual case: no rounding needed
            return None
        now = to_the_second(now)
        if now - session.last_seen_at < due_after:
            return None
        return evolve(
            session, last_seen_at=now, expires_at=min(now + idle, session.absolute_expires_at)
        )


@frozen
class LoggedIn:
    user: User
    ticket: SessionTicket
    session: Session
    device: DeviceToken | None = None  # what the client keeps to be known on the account


@frozen
class Authenticated:
    """A live session, the digest it is stored under, and whether this request renewed it."""

    session: Session
    digest: str
    renewed: bool = False


class SessionIssuer:
    """The one place a ticket is born or ends.

    A new session always gets a fresh ticket, never one a client sent; under the
    single-session policy, the user's other sessions end first. Every start and end is
    announced (SessionEvents).
    """

    def __init__(
        self,
        sessions: Sessions,
        key: TicketKey,
        clock: Clock,
        policy: SessionPolicy,
        session_events: SessionEvents,
    ) -> None:
        self._sessions = sessions
        self._key = key
        self._clock = clock
        self._policy = policy
        self._session_events = session_events

    async def start(
        self,
        user: User,
        kind: SessionKind,
        client: ClientInfo,
        methods: AuthMethod = AuthMethod.PASSWORD,
    ) -> LoggedIn:
        ticket = SessionTicket.issue()
        session = self._policy.start(user.id, kind, client, self._clock.now(), user.public)
        if methods is not AuthMethod.PASSWORD:
            session = evolve(session, methods=methods)
        if self._policy.single_session and await self._sessions.remove_of_user(user.id):
            await self._session_events.publish(
                SessionsEnded(user.id, EndReason.REPLACED, every=True)
            )
        await self._sessions.add(self._key.digest(ticket), session)
        await self._session_events.publish(SessionsChanged(user.id))
        return LoggedIn(user=user, ticket=ticket, session=session)

    async def end(
        self, ticket: SessionTicket | None, reason: EndReason = EndReason.LOGGED_OUT
    ) -> None:
        """End the session the ticket names, if any; ending none is not an error."""
        if ticket is None:
            return
        digest = self._key.digest(ticket)
        session = await self._sessions.get(digest)  # who to tell: the digest names no one
        if session is None:
            return
        await self._sessions.remove(digest)
        await self._session_events.publish(
            SessionsEnded(session.user_id, reason, ids=(session.id,))
        )
