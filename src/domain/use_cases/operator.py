"""What an operator does about a user, by email: their sessions (the CLI's answer to a stolen
cookie), and deleting them."""

from __future__ import annotations

from coatcheck.domain.errors import UserNotFound
from coatcheck.domain.events import EndReason
from coatcheck.domain.model import Email, Session, User
from coatcheck.domain.ports import Clock, Events, SessionEvents, Sessions, Users
from coatcheck.domain.use_cases.deletion import EraseUser
from coatcheck.domain.use_cases.sessions import revoke_all, revoke_by_id


async def _user(users: Users, email: Email) -> User:
    user = await users.by_email(email)
    if user is None:
        raise UserNotFound()
    return user


class UserSessions:
    """A user's live sessions, newest first."""

    def __init__(self, users: Users, sessions: Sessions, clock: Clock) -> None:
        self._users = users
        self._sessions = sessions
        self._clock = clock

    async def __call__(self, email: Email) -> list[Session]:
        user = await _user(self._users, email)
        stored = await self._sessions.of_user(user.id, self._clock.now())
        return sorted((item.session for item in stored), key=lambda s: s.created_at, reverse=True)


class RevokeUserSessions:
    """Ends one session of a user (by public id) or all of them; returns how many ended."""

    def __init__(
        self,
        users: Users,
        sessions: Sessions,
        clock: Clock,
        events: Events,
        session_events: SessionEvents,
    ) -> None:
        self._users = users
        self._sessions = sessions
        self._clock = clock
        self._events = events
        self._session_events = session_events

    async def __call__(self, email: Email, session_id: str | None = None) -> int:
        user = await _user(self._users, email)
        if session_id is None:
            ended = await revoke_all(
                self._sessions, self._session_events, user.id, EndReason.REVOKED
            )
        else:
            now = self._clock.now()
            await revoke_by_id(self._sessions, self._session_events, user.id, session_id, now)
            ended = 1
        self._events.sessions_ended(user.id, ended, "operator")
        return ended


class DeleteUser:
    """Deletes a user and everything stored about them (EraseUser); returns how many
    sessions ended."""

    def __init__(self, users: Users, erase: EraseUser) -> None:
        self._users = users
        self._erase = erase

    async def __call__(self, email: Email) -> int:
        return await self._erase(await _user(self._users, email), "operator-delete")
