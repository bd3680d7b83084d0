"""Changing a password, and the check of the current one that guards every account change."""

from __future__ import annotations

from attrs import evolve, frozen

from coatcheck.domain.errors import NotAuthenticated, WrongPassword
from coatcheck.domain.events import EndReason
from coatcheck.domain.model import ClientInfo, NewPassword, Password, User
from coatcheck.domain.notices import Notices
from coatcheck.domain.ports import Events, PasswordHasher, SessionEvents, Sessions, Users
from coatcheck.domain.sessions import Authenticated, LoggedIn, SessionIssuer
from coatcheck.domain.throttle import LoginThrottle
from coatcheck.domain.tickets import DeviceToken
from coatcheck.domain.token_issuer import TokenIssuer
from coatcheck.domain.tokens import TokenPurpose
from coatcheck.domain.use_cases.password_forms import matching_form
from coatcheck.domain.use_cases.sessions import revoke_all


@frozen
class PasswordChecked:
    """The caller's user, and the device token its client keeps (None when not throttled)."""

    user: User
    device: DeviceToken | None


class CurrentPasswordCheck:
    """The caller's user, once the current password they gave is right.

    - a wrong password raises WrongPassword;
    - attempts are throttled like log-ins (TooManyAttempts), per device known there too.
    """

    def __init__(self, users: Users, hasher: PasswordHasher, throttle: LoginThrottle) -> None:
        self._users = users
        self._hasher = hasher
        self._throttle = throttle

    async def __call__(
        self,
        caller: Authenticated,
        password: Password,
        client: ClientInfo,
        device: DeviceToken | None = None,
    ) -> PasswordChecked:
        user = await self._users.get(caller.session.user_id)
        if user is None:
            raise NotAuthenticated()
        attempt = await self._throttle.attempt(user.email, client.address, device, user.id)
        if await matching_form(self._hasher, password, user.password_hash) is None:
            raise WrongPassword()
        return PasswordChecked(user, await self._throttle.succeeded(attempt))


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
        events: Events,
        session_events: SessionEvents,
    ) -> None:
        self._users = users
        self._hasher = hasher
        self._check = check
        self._sessions = sessions
        self._issuer = issuer
        self._tokens = tokens
        self._notices = notices
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
        checked = await self._check(caller, current_password, client, device)
        user = checked.user
        new_hash = await self._hasher.hash(new_password)
        if not await self._users.set_password_hash(user.id, new_hash, replacing=user.password_hash):
            raise WrongPassword()  # changed by someone else since we checked it
        await self._tokens.discard(user.id, TokenPurpose.PASSWORD_RESET)
        ended = await revoke_all(
            self._sessions, self._session_events, user.id, EndReason.PASSWORD_CHANGED
        )
        self._events.sessions_ended(user.id, ended, "password-change")
        self._notices.password_changed(user, client)
        logged_in = await self._issuer.start(
            evolve(user, password_hash=new_hash),
            caller.session.kind,
            client,
            caller.session.methods,  # the new ticket is as well authenticated as the old
        )
        return evolve(logged_in, device=checked.device)
