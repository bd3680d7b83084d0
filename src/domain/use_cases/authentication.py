"""Register, log in, authenticate, log out."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Awaitable

from attrs import evolve, frozen

from coatcheck.domain.errors import (
    CoatcheckError,
    EmailNotVerified,
    EmailTaken,
    InvalidCode,
    InvalidCredentials,
    NotAuthenticated,
    SecondFactorFailed,
    SecondFactorRequired,
    StoreUnavailable,
)
from coatcheck.domain.events import EndReason
from coatcheck.domain.letters import OrderKind
from coatcheck.domain.mail_throttle import MailThrottle
from coatcheck.domain.model import (
    AuthMethod,
    ClientInfo,
    Email,
    Name,
    NewPassword,
    Password,
    PublicUser,
    SessionKind,
    User,
    to_the_second,
)
from coatcheck.domain.notices import Notices
from coatcheck.domain.ports import Clock, Events, PasswordHasher, Sessions, Users
from coatcheck.domain.second_step import FactorCheck, PendingLogIn, Proof, SecondStep
from coatcheck.domain.sessions import Authenticated, LoggedIn, SessionIssuer, SessionPolicy
from coatcheck.domain.throttle import LoginThrottle
from coatcheck.domain.tickets import DeviceToken, SessionTicket, TicketKey
from coatcheck.domain.use_cases.email_address import SendVerification
from coatcheck.domain.use_cases.log_in_session import LogInSession
from coatcheck.domain.use_cases.password_forms import matching_form, spend_a_miss


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


class LogIn:
    """Checks credentials and starts a new session.

    - unknown email and wrong password raise the same InvalidCredentials, and an
      unknown email costs what a wrong password does;
    - throttled per account (or per device known there) and per client address
      (TooManyAttempts); the client's device is known on the account from now on;
    - when required, the address must be verified (EmailNotVerified, once the password
      is right);
    - a hash made with an outdated cost, or of a password before it was normalised, is
      upgraded;
    - the session the client held before, if any, ends; the new one has a fresh ticket,
      and carries the user as stored once it exists; password-reset links sent before
      stop working; a new device is told (LogInSession, as for every log-in);
    - an account with a second factor needs it too: given with the password (`proof`, how
      a token client logs in: SecondFactorRequired without it), or at a second step, for
      which a browser gets a pending log-in (not a session) once the password is right.
    """

    def __init__(
        self,
        users: Users,
        hasher: PasswordHasher,
        throttle: LoginThrottle,
        issuer: SessionIssuer,
        session: LogInSession,
        sessions: Sessions,
        events: Events,
        second_step: SecondStep,
        factor_check: FactorCheck,
        require_verified_email: bool = False,
    ) -> None:
        self._users = users
        self._hasher = hasher
        self._throttle = throttle
        self._issuer = issuer
        self._session = session
        self._sessions = sessions
        self._events = events
        self._second_step = second_step
        self._factor_check = factor_check
        self._require_verified_email = require_verified_email

    async def __call__(
        self,
        email: Email,
        password: Password,
        client: ClientInfo,
        kind: SessionKind = SessionKind.BROWSER,
        replacing: SessionTicket | None = None,
        device: DeviceToken | None = None,
        proof: Proof | None = None,
    ) -> LoggedIn | PendingLogIn:
        user = await self._users.by_email(email)  # first: devices are known on a user
        user_id = None if user is None else user.id
        attempt = await self._throttle.attempt(email, client.address, device, user_id)
        if user is None:
            await spend_a_miss(self._hasher, password)
            self._events.log_in_failed("invalid-credentials")
            raise InvalidCredentials()
        matched = await matching_form(self._hasher, password, user.password_hash)
        if matched is None:
            self._events.log_in_failed("invalid-credentials")
            raise InvalidCredentials()
        device = await self._throttle.succeeded(attempt)
        if self._require_verified_email and not user.email_verified:
            self._events.log_in_failed("email-not-verified")
            raise EmailNotVerified()
        verified_hash = user.password_hash
        user = await self._upgrade_hash(user, password, outdated=matched is not password)
        methods = AuthMethod.PASSWORD
        factors = await self._second_step.required(user.id)
        if factors.any:
            if proof is None or not proof.given:
                if kind is SessionKind.TOKEN:  # one request: the factor comes with it
                    raise SecondFactorRequired(factors.methods)
                pending = await self._second_step.hold(user, kind, factors)
                return evolve(pending, device=device)
            try:
                methods |= await self._factor_check(user, proof)
            except InvalidCode:
                self._events.log_in_failed("invalid-second-factor")
                raise SecondFactorFailed() from None
        logged_in = await self._session.start(user, kind, client, methods, replacing)
        known_hashes = {verified_hash, user.password_hash}
        stored = await self._end_if_password_changed(logged_in, password, known_hashes)
        if stored.public != user.public:  # verified or changed meanwhile: show it at once
            await self._sessions.update_user(stored.public)
            logged_in = evolve(logged_in, user=stored)
        await self._session.welcome(logged_in, client)
        return evolve(logged_in, device=device)

    async def _upgrade_hash(self, user: User, password: Password, outdated: bool) -> User:
        if not outdated and not self._hasher.needs_rehash(user.password_hash):
            return user
        upgraded = await self._hasher.hash(password)
        # Compare-and-set: a password changed meanwhile is never overwritten.
        if await self._users.set_password_hash(user.id, upgraded, replacing=user.password_hash):
            return evolve(user, password_hash=upgraded)
        return user

    async def _end_if_password_changed(
        self, logged_in: LoggedIn, password: Password, known_hashes: set[str]
    ) -> User:
        """A password change that ended every session while this log-in checked the old
        password must end this session too. (Another log-in's cost upgrade is no change.)
        The user as stored now, otherwise."""
        stored = await self._users.get(logged_in.user.id)
        if stored is not None and (
            stored.password_hash in known_hashes
            or await self._hasher.verify(password, stored.password_hash)
        ):
            return stored
        await self._issuer.end(logged_in.ticket, EndReason.PASSWORD_CHANGED)
        self._events.log_in_failed("password-changed")
        raise InvalidCredentials()


class Authenticate:
    """Finds the live session a ticket names.

    - a missing, unknown, revoked or expired ticket raises NotAuthenticated;
    - an expired session is deleted when met;
    - the idle deadline slides, written only once a touch interval has passed,
      and never past the absolute deadline.
    """

    def __init__(
        self, sessions: Sessions, key: TicketKey, clock: Clock, policy: SessionPolicy
    ) -> None:
        self._sessions = sessions
        self._key = key
        self._clock = clock
        self._policy = policy

    async def __call__(self, ticket: SessionTicket | None) -> Authenticated:
        if ticket is None:
            raise NotAuthenticated()
        digest = self._key.digest(ticket)
        session = await self._sessions.get(digest)
        if session is None:
            raise NotAuthenticated()
        now = self._clock.now()
        if not session.is_live(now):
            await self._sessions.remove(digest)
            raise NotAuthenticated()
        renewed = self._policy.renewal(session, now)
        if renewed is None:
            return Authenticated(session, digest)
        if not await self._sessions.replace(digest, renewed):
            raise NotAuthenticated()  # revoked between our read and our write
        return Authenticated(renewed, digest, renewed=True)


class CheckSession:
    """Finds the live session a ticket names, and nothing more: watching a session (an open
    WebSocket) is not using it, so this never renews it, nor deletes it.

    - a missing, unknown, revoked or expired ticket raises NotAuthenticated.
    """

    def __init__(self, sessions: Sessions, key: TicketKey, clock: Clock) -> None:
        self._sessions = sessions
        self._key = key
        self._clock = clock

    async def __call__(self, ticket: SessionTicket | None) -> Authenticated:
        if ticket is None:
            raise NotAuthenticated()
        digest = self._key.digest(ticket)
        session = await self._sessions.get(digest)
        if session is None or not session.is_live(self._clock.now()):
            raise NotAuthenticated()
        return Authenticated(session, digest)


class CurrentUser:
    """The user an authenticated session belongs to.

    - read from the session itself, which carries the user's public fields (every change
      to a user rewrites or ends that user's sessions, so it is never stale);
    - a session written before sessions carried them asks the user store.
    """

    def __init__(self, users: Users) -> None:
        self._users = users

    async def __call__(self, authenticated: Authenticated) -> PublicUser:
        if authenticated.session.user is not None:
            return authenticated.session.user
        user = await self._users.get(authenticated.session.user_id)
        if user is None:
            raise NotAuthenticated()
        return user.public


class LogOut:
    """Ends the session a ticket names, server-side. Ending no session is not an error."""

    def __init__(self, issuer: SessionIssuer, events: Events) -> None:
        self._issuer = issuer
        self._events = events

    async def __call__(self, ticket: SessionTicket | None) -> None:
        await self._issuer.end(ticket)
        if ticket is not None:
            self._events.sessions_ended(None, 1, "log-out")
