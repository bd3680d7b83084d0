"""The account's address: verifying it, and changing it."""

from __future__ import annotations

from coatcheck.domain.errors import EmailUnavailable, InvalidToken, InvalidValue
from coatcheck.domain.letters import LetterOrder, OrderKind
from coatcheck.domain.mail_throttle import MailThrottle
from coatcheck.domain.model import ClientInfo, Email, Password, PublicUser, User
from coatcheck.domain.notices import Notices
from coatcheck.domain.ports import Clock, Outbox, Sessions, Users
from coatcheck.domain.sessions import Authenticated
from coatcheck.domain.throttle import LoginThrottle
from coatcheck.domain.tickets import DeviceToken
from coatcheck.domain.token_issuer import TokenIssuer
from coatcheck.domain.tokens import OneTimeToken, TokenPurpose
from coatcheck.domain.use_cases.passwords import CurrentPasswordCheck


class SendVerification:
    """Orders a one-time link that proves the address is the user's (the outbox's worker makes
    it); a newer link makes the older ones useless. Nothing, without an email backend."""

    def __init__(self, outbox: Outbox, clock: Clock) -> None:
        self._outbox = outbox
        self._clock = clock

    async def __call__(self, user: User) -> None:
        if self._outbox.delivers:
            order = LetterOrder(OrderKind.VERIFY_EMAIL, self._clock.now(), user_id=user.id)
            await self._outbox.order(order)


class ResendVerification:
    """Sends the caller a new verification link.

    - EmailUnavailable without an email backend; nothing to send once verified;
    - throttled per client network (TooManyEmails) and, silently, per address.
    """

    def __init__(
        self, users: Users, send: SendVerification, throttle: MailThrottle, outbox: Outbox
    ) -> None:
        self._users = users
        self._send = send
        self._throttle = throttle
        self._outbox = outbox

    async def __call__(self, caller: Authenticated, client: ClientInfo) -> None:
        if not self._outbox.delivers:
            raise EmailUnavailable()
        user = await self._users.get(caller.session.user_id)
        if user is None or user.email_verified:
            return
        if await self._throttle.attempt(OrderKind.VERIFY_EMAIL, user.email, client.address):
            await self._send(user)


class VerifyEmail:
    """Marks the address a verification token was sent to as verified.

    - the token must be live and unused, and the address still the user's (InvalidToken);
    - every session of the user shows the new state at once.
    """

    def __init__(self, users: Users, tokens: TokenIssuer, sessions: Sessions) -> None:
        self._users = users
        self._tokens = tokens
        self._sessions = sessions

    async def __call__(self, token: OneTimeToken) -> PublicUser:
        record = await self._tokens.redeem(token, TokenPurpose.VERIFY_EMAIL)
        user = await self._users.verify_email(record.user_id, record.email)
        if user is None:
            raise InvalidToken()
        await self._sessions.update_user(user.public)
        return user.public


class RequestEmailChange:
    """Sends a one-time link to the new address; following it makes the change.

    - the current password must be right (CurrentPasswordCheck);
    - the new address must be another one (InvalidValue); whether an account has it is not
      told: the request stores the same order either way, and the outbox's worker sends the
      link, or tells that address's owner that someone tried (the confirmation refuses a
      taken address);
    - throttled per client network (TooManyEmails) and, silently, per new address;
    - EmailUnavailable without an email backend.
    """

    def __init__(
        self, check: CurrentPasswordCheck, throttle: MailThrottle, outbox: Outbox, clock: Clock
    ) -> None:
        self._check = check
        self._throttle = throttle
        self._outbox = outbox
        self._clock = clock

    async def __call__(
        self,
        caller: Authenticated,
        current_password: Password,
        new_email: Email,
        client: ClientInfo,
        device: DeviceToken | None = None,
    ) -> None:
        if not self._outbox.delivers:
            raise EmailUnavailable()
        user = (await self._check(caller, current_password, client, device)).user
        if new_email == user.email:
            raise InvalidValue("the new email is the account's email already")
        if await self._throttle.attempt(OrderKind.CHANGE_EMAIL, new_email, client.address):
            order = LetterOrder(OrderKind.CHANGE_EMAIL, self._clock.now(), new_email, user.id)
            await self._outbox.order(order)


class ChangeEmail:
    """Gives the account the new address a change-of-email token was sent to.

    - the token must be live and unused (InvalidToken); the address must still be free
      (EmailTaken, as at registration);
    - the new address is verified (the link proved it); links sent to the old address stop
      working; every session of the user shows the new address at once;
    - the old address is told;
    - every device the log-in throttle knows on the account is forgotten, but the one that
      follows the link (if it is known there).
    """

    def __init__(
        self,
        users: Users,
        tokens: TokenIssuer,
        sessions: Sessions,
        notices: Notices,
        throttle: LoginThrottle,
    ) -> None:
        self._users = users
        self._tokens = tokens
        self._sessions = sessions
        self._notices = notices
        self._throttle = throttle

    async def __call__(
        self, token: OneTimeToken, client: ClientInfo, device: DeviceToken | None = None
    ) -> PublicUser:
        record = await self._tokens.redeem(token, TokenPurpose.CHANGE_EMAIL)
        user = await self._users.get(record.user_id)
        if user is None:
            raise InvalidToken()
        changed = await self._users.change_email(user.id, record.email, replacing=user.email)
        if changed is None:
            raise InvalidToken()  # the user changed meanwhile: asking again is safe
        await self._tokens.discard(user.id, TokenPurpose.PASSWORD_RESET, TokenPurpose.VERIFY_EMAIL)
        await self._sessions.update_user(changed.public)
        await self._throttle.forget_devices(user.id, keep=device)
        self._notices.email_changed(user, changed.email, client)
        return changed.public
