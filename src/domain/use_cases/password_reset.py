"""Password reset: a one-time link by email, and choosing a new password with it."""

from __future__ import annotations

import contextlib
import uuid

from attrs import evolve

from coatcheck.domain.errors import EmailUnavailable, InvalidToken, StoreUnavailable
from coatcheck.domain.events import EndReason
from coatcheck.domain.letters import LetterOrder, OrderKind
from coatcheck.domain.mail_throttle import MailThrottle
from coatcheck.domain.model import ClientInfo, Email, NewPassword, SessionKind, User
from coatcheck.domain.notices import Notices
from coatcheck.domain.ports import (
    Clock,
    Events,
    Outbox,
    PasswordHasher,
    SessionEvents,
    Sessions,
    Users,
)
from coatcheck.domain.second_step import PendingLogIn, SecondStep
from coatcheck.domain.sessions import LoggedIn, SessionIssuer
from coatcheck.domain.throttle import LoginThrottle
from coatcheck.domain.tickets import DeviceToken, SessionTicket
from coatcheck.domain.token_issuer import TokenIssuer
from coatcheck.domain.tokens import OneTimeToken, TokenPurpose
from coatcheck.domain.use_cases.sessions import revoke_all


class RequestPasswordReset:
    """Sends a one-time link to reset the password of the account with this email, if any.

    - the request stores the same order whether or not an account has the email, and the
      outbox's worker looks the account up: its answer, time and traces are the same;
    - throttled per client network (TooManyEmails) and, silently, per address (MailThrottle);
    - EmailUnavailable when no email can be sent.
    """

    def __init__(self, throttle: MailThrottle, outbox: Outbox, clock: Clock) -> None:
        self._throttle = throttle
        self._outbox = outbox
        self._clock = clock

    async def __call__(self, email: Email, client: ClientInfo) -> None:
        if not self._outbox.delivers:
            raise EmailUnavailable()
        if await self._throttle.attempt(OrderKind.PASSWORD_RESET, email, client.address):
            await self._outbox.order(
                LetterOrder(OrderKind.PASSWORD_RESET, self._clock.now(), email)
            )


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
        await self._throttle.forget(user)  # every device; the one completing it is known anew
        self._notices.password_reset(user, client)
        factors = await self._second_step.required(user.id)
        if factors.any:  # a link proves the mailbox, not the second factor
            return await self._second_step.hold(user, SessionKind.BROWSER, factors)
        self._notices.seen(user, client)
        logged_in = await self._issuer.start(user, SessionKind.BROWSER, client)
        with contextlib.suppress(StoreUnavailable):  # it costs only the device cookie
            device = await self._throttle.know(user.id, device)
            return evolve(logged_in, device=device)
        return logged_in

    async def _owner(self, user_id: uuid.UUID, email: Email) -> User:
        user = await self._users.get(user_id)
        if user is None or user.email != email:
            raise InvalidToken()
        return user
