"""Register, log in, authenticate, log out."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Awaitable

from attrs import evolve

from domain.errors import (
    CoatcheckError,
    EmailTaken,
    InvalidCredentials,
    NotAuthenticated,
    StoreUnavailable,
)
from domain.events import EndReason
from domain.model import (
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
from domain.ports import Clock, Events, PasswordHasher, Sessions, Users
from domain.sessions import Authenticated, LoggedIn, SessionIssuer, SessionPolicy
from domain.throttle import LoginThrottle
from domain.tickets import DeviceToken, SessionTicket, TicketKey


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
    - the client's device is known on the account from now on.
    """

    def __init__(
        self,
        users: Users,
        hasher: PasswordHasher,
        throttle: LoginThrottle,
        issuer: SessionIssuer,
        clock: Clock,
        events: Events,
    ) -> None:
        self._users = users
        self._hasher = hasher
        self._throttle = throttle
        self._issuer = issuer
        self._clock = clock
        self._events = events

    async def __call__(
        self,
        email: Email,
        name: Name,
        password: NewPassword,
        client: ClientInfo,
        kind: SessionKind = SessionKind.BROWSER,
        replacing: SessionTicket | None = None,
        device: DeviceToken | None = None,
    ) -> LoggedIn:
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
        self._events.registered(user)
        await self._issuer.end(replacing, EndReason.REPLACED)
        return evolve(logged_in, device=await self._known(email, device))

    async def _known(self, email: Email, device: DeviceToken | None) -> DeviceToken | None:
        """The device, known on the new account from now on; the user exists already, so a
        store failure here costs only the device cookie, never the answer."""
        with contextlib.suppress(StoreUnavailable):
            return await self._throttle.know(email, device)
        return None


def _forms(password: Password) -> list[Password]:
    typed = password.as_typed()
    return [password] if typed is None else [password, typed]


async def matching_form(
    hasher: PasswordHasher, password: Password, password_hash: str
) -> Password | None:
    """The form of the password that the hash was made of: its normalised form or, for a
    hash made before passwords were normalised, the form it was typed in; None if neither.
    A miss costs what `spend_a_miss` costs."""
    for form in _forms(password):
        if await hasher.verify(form, password_hash):
            return form
    return None


async def spend_a_miss(hasher: PasswordHasher, password: Password) -> None:
    """What checking this password against a hash it misses costs, for an email that has no
    user: as many verifications as `matching_form` makes."""
    for form in _forms(password):
        await hasher.verify_dummy(form)


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
    - a hash made with an outdated cost, or of a password before it was normalised, is
      upgraded;
    - the session the client held before, if any, ends; the new one has a fresh ticket.
    """

    def __init__(
        self,
        users: Users,
        hasher: PasswordHasher,
        throttle: LoginThrottle,
        issuer: SessionIssuer,
        events: Events,
    ) -> None:
        self._users = users
        self._hasher = hasher
        self._throttle = throttle
        self._issuer = issuer
        self._events = events

    async def __call__(
        self,
        email: Email,
        password: Password,
        client: ClientInfo,
        kind: SessionKind = SessionKind.BROWSER,
        replacing: SessionTicket | None = None,
        device: DeviceToken | None = None,
    ) -> LoggedIn:
        attempt = await self._throttle.attempt(email, client.address, device)
        user = await self._users.by_email(email)
        if user is None:
            await spend_a_miss(self._hasher, password)
            self._events.log_in_failed("invalid-credentials")
            raise InvalidCredentials()
        matched = await matching_form(self._hasher, password, user.password_hash)
        if matched is None:
            self._events.log_in_failed("invalid-credentials")
            raise InvalidCredentials()
        device = await self._throttle.succeeded(attempt)
        verified_hash = user.password_hash
        user = await self._upgrade_hash(user, password, outdated=matched is not password)
        await self._issuer.end(replacing, EndReason.REPLACED)
        logged_in = await self._issuer.start(user, kind, client)
        known_hashes = {verified_hash, user.password_hash}
        await self._end_if_password_changed(logged_in, password, known_hashes)
        self._events.logged_in(user, logged_in.session)
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
    ) -> None:
        """A password change that ended every session while this log-in checked the old
        password must end this session too. (Another log-in's cost upgrade is no change.)"""
        stored = await self._users.get(logged_in.user.id)
        if stored is not None and (
            stored.password_hash in known_hashes
            or await self._hasher.verify(password, stored.password_hash)
        ):
            return
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
