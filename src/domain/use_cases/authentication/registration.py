"""Registering: a new user, logged in at once unless a verified address is required."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Awaitable

from attrs import evolve, frozen

from coatcheck.domain.errors import CoatcheckError, EmailTaken, StoreUnavailable
from coatcheck.domain.events import EndReason
from coatcheck.domain.letters import OrderKind
from coatcheck.domain.mail_throttle import MailThrottle
from coatcheck.domain.model import (
    ClientInfo,
    Email,
    Name,
    NewPassword,
    SessionKind,
    User,
    to_the_second,
)
from coatcheck.domain.notices import Notices
from coatcheck.domain.ports import Clock, Events, PasswordHasher, Users
from coatcheck.domain.sessions import LoggedIn, SessionIssuer
from coatcheck.domain.throttle import LoginThrottle
from coatcheck.domain.tickets import DeviceToken, SessionTicket
from coatcheck.domain.use_cases.email_address import SendVerification


@frozen
class Registered:
    user: User
    logged_in: LoggedIn | None  # None while a verified address is required to log in


class RegisterUser:
    """Creates a user and logs them in.

    - registrations are throttled per client address, whatever their outcome, so that
      probing which emails are taken is too (TooManyAttempts);
    - the email is unique regardless of case (EmailTaken);
    - the password meets the policy (NewPassword) and is stored only as a hash;
    - the new session gets a fresh ticket; the session the client held before, if any, ends;
    - all or nothing, whatever fails: the user is pending (found by nothing) until its last
      step, the confirmation, succeeds after the session is stored. A registration that
      failed leaves no user that can log in or that holds the email: a later registration
      of the email replaces it. (Its session, if stored, is one whose ticket no one holds.)
    - the client's device is known on the account from now on;
    - a link to verify the address is sent, within the address's letter limit (MailThrottle,
      silently: a registration beyond it sends none, and its owner asks again later; so does
      one whose store fails once the user is made); when a verified address is required to
      log in, no session starts until it is followed.
    """

    def __init__(
        self,
        users: Users,
        hasher: PasswordHasher,
        throttle: LoginThrottle,
        issuer: SessionIssuer,
        clock: Clock,
        events: Events,
        send_verification: SendVerification,
        mail_throttle: MailThrottle,
        notices: Notices,
        require_verified_email: bool = False,
    ) -> None:
        self._users = users
        self._hasher = hasher
        self._throttle = throttle
        self._issuer = issuer
        self._clock = clock
        self._events = events
        self._send_verification = send_verification
        self._mail_throttle = mail_throttle
        self._notices = notices
        self._require_verified_email = require_verified_email

    async def __call__(
        self,
        email: Email,
        name: Name,
        password: NewPassword,
        client: ClientInfo,
        kind: SessionKind = SessionKind.BROWSER,
        replacing: SessionTicket | None = None,
        device: DeviceToken | None = None,
    ) -> Registered:
        await self._throttle.registration(client.address)
        if await self._users.by_email(email) is not None:
            raise EmailTaken()
        user = User(
            id=uuid.uuid4(),
            email=email,
            name=name,
            password_hash=await self._hasher.hash(password),
            created_at=to_the_second(self._clock.now()),
        )
        if self._require_verified_email:
            await self._users.add(user)  # no session to wait for: real at once
            logged_in = None
        else:
            logged_in = await self._start(user, kind, client, replacing, device)
        self._events.registered(user)
        # Registered is registered: a store lost now costs the letter (the owner asks for
        # it again), never a 503 for an account that exists.
        with contextlib.suppress(StoreUnavailable):
            if await self._mail_throttle.letter_may_go(OrderKind.VERIFY_EMAIL, email):
                await self._send_verification(user)
        self._notices.seen(user, client)  # its first device: remembered, nobody told
        return Registered(user, logged_in)

    async def _start(
        self,
        user: User,
        kind: SessionKind,
        client: ClientInfo,
        replacing: SessionTicket | None,
        device: DeviceToken | None,
    ) -> LoggedIn:
        await self._users.add_pending(user)  # raises EmailTaken if a real user has the email
        logged_in = await self._issuer.start(user, kind, client)
        try:
            confirmed = await self._users.confirm(user.id)
        except BaseException:
            await _quietly(self._issuer.end(logged_in.ticket))
            raise
        if not confirmed:  # a concurrent registration of the email replaced this one
            await self._issuer.end(logged_in.ticket)
            raise EmailTaken()
        await self._issuer.end(replacing, EndReason.REPLACED)
        return evolve(logged_in, device=await self._known(user, device))

    async def _known(self, user: User, device: DeviceToken | None) -> DeviceToken | None:
        """The device, known on the new account from now on; the user exists already, so a
        store failure here costs only the device cookie, never the answer."""
        with contextlib.suppress(StoreUnavailable):
            return await self._throttle.know(user.id, device)
        return None


async def _quietly(step: Awaitable[None]) -> None:
    """Tidy up after a failure without hiding it: a second failure changes nothing."""
    with contextlib.suppress(CoatcheckError):
        await step
