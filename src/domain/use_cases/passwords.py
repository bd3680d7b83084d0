"""Changing a password, and the check of the current one that guards every account change."""

from __future__ import annotations

from attrs import evolve

from domain.errors import NotAuthenticated, WrongPassword
from domain.model import ClientInfo, NewPassword, Password, User
from domain.notices import Notices
from domain.ports import PasswordHasher, Sessions, Users
from domain.sessions import Authenticated, LoggedIn, SessionIssuer
from domain.throttle import LoginThrottle
from domain.token_issuer import TokenIssuer
from domain.tokens import TokenPurpose


class CurrentPasswordCheck:
    """The caller's user, once the current password they gave is right.

    - a wrong password raises WrongPassword (the caller is logged in: not a 401);
    - attempts are throttled like log-ins (TooManyAttempts).
    """

    def __init__(self, users: Users, hasher: PasswordHasher, throttle: LoginThrottle) -> None:
        self._users = users
        self._hasher = hasher
        self._throttle = throttle

    async def __call__(self, caller: Authenticated, password: Password, client: ClientInfo) -> User:
        user = await self._users.get(caller.session.user_id)
        if user is None:
            raise NotAuthenticated()
        await self._throttle.attempt(user.email, client.address)
        if not await self._hasher.verify(password, user.password_hash):
            raise WrongPassword()
        await self._throttle.succeeded(user.email)
        return user


class ChangePassword:
    """Replaces the caller's password.

    - the current password must be right (CurrentPasswordCheck; nothing changes
      otherwise); a concurrent change wins, never both;
    - every session of the user ends, the caller's included, and the caller gets
      a new session with a fresh ticket: old tickets stop working everywhere;
    - password-reset links sent before stop working, and the account's address is told.
    """

    def __init__(
        self,
        users: Users,
        hasher: PasswordHasher,
        check: CurrentPasswordCheck,
        sessions: Sessions,
        issuer: SessionIssuer,
        tokens: TokenIssuer,
        notices: Notices,
    ) -> None:
        self._users = users
        self._hasher = hasher
        self._check = check
        self._sessions = sessions
        self._issuer = issuer
        self._tokens = tokens
        self._notices = notices

    async def __call__(
        self,
        caller: Authenticated,
        current_password: Password,
        new_password: NewPassword,
        client: ClientInfo,
    ) -> LoggedIn:
        user = await self._check(caller, current_password, client)
        new_hash = await self._hasher.hash(new_password)
        if not await self._users.set_password_hash(user.id, new_hash, replacing=user.password_hash):
            raise WrongPassword()  # changed by someone else since we checked it
        await self._tokens.discard(user.id, TokenPurpose.PASSWORD_RESET)
        await self._sessions.remove_of_user(user.id)
        self._notices.password_changed(user, client)
        return await self._issuer.start(
            evolve(user, password_hash=new_hash), caller.session.kind, client
        )
