"""A user's own sessions: see them, revoke one, revoke all the others."""

from __future__ import annotations

import uuid
from datetime import datetime

from attrs import frozen

from coatcheck.domain.errors import SessionNotFound
from coatcheck.domain.events import EndReason, SessionsEnded
from coatcheck.domain.model import Session
from coatcheck.domain.ports import Clock, Events, SessionEvents, Sessions
from coatcheck.domain.sessions import Authenticated


async def revoke_by_id(
    sessions: Sessions,
    session_events: SessionEvents,
    user_id: uuid.UUID,
    session_id: str,
    now: datetime,
) -> Session:
    """End the user's session with this public id; SessionNotFound if the user has none."""
    for item in await sessions.of_user(user_id, now):
        if item.session.id == session_id:
            await sessions.remove(item.digest)
            ended = SessionsEnded(user_id, EndReason.REVOKED, ids=(session_id,))
            await session_events.publish(ended)
            return item.session
    raise SessionNotFound()


async def revoke_all(
    sessions: Sessions,
    session_events: SessionEvents,
    user_id: uuid.UUID,
    reason: EndReason,
    keep: Authenticated | None = None,
) -> int:
    """End every session of the user (but `keep`'s); return how many ended."""
    ended = await sessions.remove_of_user(user_id, keep=None if keep is None else keep.digest)
    if ended:
        kept = None if keep is None else keep.session.id
        await session_events.publish(SessionsEnded(user_id, reason, every=True, kept=kept))
    return ended


@frozen
class SessionView:
    session: Session
    current: bool


class ListSessions:
    """The caller's live sessions, newest first, the caller's own marked current."""

    def __init__(self, sessions: Sessions, clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock

    async def __call__(self, caller: Authenticated) -> list[SessionView]:
        stored = await self._sessions.of_user(caller.session.user_id, self._clock.now())
        views = [SessionView(item.session, item.session.id == caller.session.id) for item in stored]
        return sorted(views, key=lambda view: view.session.created_at, reverse=True)


class RevokeSession:
    """Ends one of the caller's sessions by its public id.

    An id that is not one of the caller's raises SessionNotFound, whether or not
    it exists, so no one learns about another user's sessions.
    """

    def __init__(
        self, sessions: Sessions, clock: Clock, events: Events, session_events: SessionEvents
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._events = events
        self._session_events = session_events

    async def __call__(self, caller: Authenticated, session_id: str) -> Session:
        user_id = caller.session.user_id
        revoked = await revoke_by_id(
            self._sessions, self._session_events, user_id, session_id, self._clock.now()
        )
        self._events.sessions_ended(user_id, 1, "revoked")
        return revoked


class RevokeOtherSessions:
    """Log out everywhere else: every session of the caller but the current one ends."""

    def __init__(self, sessions: Sessions, events: Events, session_events: SessionEvents) -> None:
        self._sessions = sessions
        self._events = events
        self._session_events = session_events

    async def __call__(self, caller: Authenticated) -> int:
        user_id = caller.session.user_id
        ended = await revoke_all(
            self._sessions, self._session_events, user_id, EndReason.REVOKED, caller
        )
        self._events.sessions_ended(user_id, ended, "revoked-others")
        return ended
