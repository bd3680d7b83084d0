"""Password reset: a one-time link by email, and choosing a new password with it."""

from __future__ import annotations

import contextlib
import uuid
from functools import partial

from attrs import evolve

from coatcheck.domain.errors import EmailUnavailable, InvalidToken, StoreUnavailable
from coatcheck.domain.events import EndReason
from coatcheck.domain.letters import Letter
from coatcheck.domain.mail_throttle import MailThrottle
from coatcheck.domain.model import ClientInfo, Email, NewPassword, SessionKind, User
from coatcheck.domain.notices import Notices
from coatcheck.domain.ports import Events, Outbox, PasswordHasher, SessionEvents, Sessions, Users
from coatcheck.domain.second_step import PendingLogIn, SecondStep
from coatcheck.domain.sessions import LoggedIn, SessionIssuer
from coatcheck.domain.throttle import LoginThrottle
from coatcheck.domain.tickets import DeviceToken, SessionTicket
from coatcheck.domain.token_issuer import TokenIssuer
from coatcheck.domain.tokens import OneTimeToken, TokenPurpose
from coatcheck.domain.use_cases.sessions import revoke_all


class RequestPasswordReset:
    """Sends a one-time link to reset the password of the account with this email, if any.

    - the answer is the same, in the same time, whether or not an account has the email:
      its look-up, the token and the letter are all made after the answer;
    - throttled per email address and per client address (TooManyEmails), known or not;
    - EmailUnavailable when no email can be sent.
    """

    def __init__(
        self, users: Users, tokens: TokenIssuer, throttle: MailThrottle, outbox: Outbox
    ) -> None:
        self._users = users
        self._tokens = tokens
        self._throttle = throttle
        self._outbox = outbox

    async def __call__(self, email: Email, client: ClientInfo) -> None:
        if not self._outbox.delivers:
            raise EmailUnavailable()
        await self._throttle.attempt(email, client.address)
        self._outbox.post_later(partial(self._letter, email))

    async def _letter(self, email: Email) -> Letter | None:
        user = await self._users.by_email(email)
        if user is None:
            return None
        return await self._tokens.letter(user, TokenPurpose.PASSWORD_RESET)


class ResetPassword:
    """Sets a new password with a password-reset token, and logs the person in.

    - the token must be live, unused and still fit its account (sent to its address as it
      is now): InvalidToken otherwise; it is used up either way;
    - the password policy applies (NewPassword);
    - every session of the user ends (whoever watches them is told), and the answer starts
      a fresh one on a device known there from now on; the other reset links stop working;
      the log-in throttle of the account is cleared;
    - following the link proved the address: it is verified now;
    - the account's address is told that the password was reset;
    - an account with a second factor is not logged in: the answer is a pending log-in,
      which its second factor completes (CompleteLogIn). A reset never skips it.
    """

    def __init__(
        self,
        users: Users,
        hasher: PasswordHasher,
        tokens: TokenIssuer,
        sessions: Sessions,
        issuer: SessionIssuer,
        throttle: LoginThrottle,
        notices: Notices,
        events: Events,
        session_events: SessionEvents,
        second_step: SecondStep,
    ) -> None:
        self._users = users
        self._hasher = hasher
        self._tokens = tokens
        self._sessions = sessions
        self._issuer = issuer
        self._throttle = throttle
        self._notices = notices
        self._events = events
        self._session_events = session_events
        self._second_step = second_step

    async def __call__(
        self,
        token: OneTimeToken,
        new_password: NewPassword,
        client: ClientInfo,
        replacing: SessionTicket | None = None,
        device: DeviceToken | None = None,
    ) -> LoggedIn | PendingLogIn:
        record = await self._tokens.redeem(token, TokenPurpose.PASSWORD_RESET)
        user = await self._owner(record.user_id, record.email)
        new_hash = await self._hasher.hash(new_password)
        if not await self._users.set_password_hash(user.id, new_hash, replacing=user.password_hash):
            # Changed meanwhile (another reset, a hash upgrade): the link still decides.
            user = await self._owner(user.id, record.email)
            if not await self._users.set_password_hash(user.id, new_hash, user.password_hash):
                raise InvalidToken()
        user = evolve(user, password_hash=new_hash)
        await self._tokens.discard(user.id, TokenPurpose.PASSWORD_RESET)
        if not user.email_verified:
            user = await self._users.verify_email(user.id, user.email) or user
        ended = await revoke_all(
            self._sessions, self._session_events, user.id, EndReason.PASSWORD_RESET
        )
        self._events.sessions_ended(user.id, ended, "password-reset")
        # Another account's session, if the client held one.
        await self._issuer.end(replacing, EndReason.REPLACED)
        await self._throttle.forget(user.email)
        self._notices.password_changed(user, client)
        factors = await self._second_step.required(user.id)
        if factors.any:  # a link proves the mailbox, not the second factor
            return await self._second_step.hold(user, SessionKind.BROWSER, factors)
        self._notices.seen(user, client)
        logged_in = await self._issuer.start(user, SessionKind.BROWSER, client)
        with contextlib.suppress(StoreUnavailable):  # it costs only the device cookie
            device = await self._throttle.know(user.email, device)
            return evolve(logged_in, device=device)
        return logged_in

    async def _owner(self, user_id: uuid.UUID, email: Email) -> User:
        user = await self._users.get(user_id)
        if user is None or user.email != email:
            raise InvalidToken()
        return user
