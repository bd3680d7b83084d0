"""Changing a password."""

from __future__ import annotations

from attrs import evolve

from domain.errors import NotAuthenticated, WrongPassword
from domain.model import ClientInfo, NewPassword, Password
from domain.ports import PasswordHasher, Sessions, Users
from domain.throttle import LoginThrottle
from domain.use_cases.issuing import Authenticated, LoggedIn, SessionIssuer


class ChangePassword:
    """Replaces the caller's password.

    - the current password must be right (WrongPassword; nothing changes), and
      attempts are throttled like log-ins;
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
    ) -> None:
        self._users = users
        self._hasher = hasher
        self._throttle = throttle
        self._sessions = sessions
        self._issuer = issuer

    async def __call__(
        self,
        caller: Authenticated,
        current_password: Password,
        new_password: NewPassword,
        client: ClientInfo,
    ) -> LoggedIn:
        user = await self._users.get(caller.session.user_id)
        if user is None:
            raise NotAuthenticated()
        await self._throttle.check(user.email, client.address)
        if not await self._hasher.verify(current_password, user.password_hash):
            await self._throttle.failed(user.email, client.address)
            raise WrongPassword()
        await self._throttle.succeeded(user.email)
        user = evolve(user, password_hash=await self._hasher.hash(new_password))
        await self._users.set_password_hash(user.id, user.password_hash)
        await self._sessions.remove_of_user(user.id)
        return await self._issuer.start(user, caller.session.kind, client)
