"""Changing a password."""

from __future__ import annotations

from attrs import evolve

from domain.errors import NotAuthenticated, WrongPassword
from domain.events import EndReason
from domain.model import ClientInfo, NewPassword, Password
from domain.ports import Events, PasswordHasher, SessionEvents, Sessions, Users
from domain.sessions import Authenticated, LoggedIn, SessionIssuer
from domain.throttle import LoginThrottle
from domain.tickets import DeviceToken
from domain.use_cases.authentication import matching_form
from domain.use_cases.sessions import revoke_all


class ChangePassword:
    """Replaces the caller's password.

    - the current password must be right (WrongPassword; nothing changes), and
      attempts are throttled like log-ins; a concurrent change wins, never both;
    - every session of the user ends, the caller's included, and the caller gets
      a new session with a fresh ticket: old tickets stop working everywhere.
    """

    def __init__(
        self,
        users: Users,
        hasher: PasswordHasher,
        throttle: LoginThrottle,
        sessions: Sessions,
        issuer: SessionIssuer,
        events: Events,
        session_events: SessionEvents,
    ) -> None:
        self._users = users
        self._hasher = hasher
        self._throttle = throttle
        self._sessions = sessions
        self._issuer = issuer
        self._events = events
        self._session_events = session_events

    async def __call__(
        self,
        caller: Authenticated,
        current_password: Password,
        new_password: NewPassword,
        client: ClientInfo,
        device: DeviceToken | None = None,
    ) -> LoggedIn:
        user = await self._users.get(caller.session.user_id)
        if user is None:
            raise NotAuthenticated()
        attempt = await self._throttle.attempt(user.email, client.address, device)
        if await matching_form(self._hasher, current_password, user.password_hash) is None:
            raise WrongPassword()
        device = await self._throttle.succeeded(attempt)
        new_hash = await self._hasher.hash(new_password)
        if not await self._users.set_password_hash(user.id, new_hash, replacing=user.password_hash):
            raise WrongPassword()  # changed by someone else since we checked it
        ended = await revoke_all(
            self._sessions, self._session_events, user.id, EndReason.PASSWORD_CHANGED
        )
        self._events.sessions_ended(user.id, ended, "password-change")
        logged_in = await self._issuer.start(
            evolve(user, password_hash=new_hash), caller.session.kind, client
        )
        return evolve(logged_in, device=device)
