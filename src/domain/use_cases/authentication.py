"""Register, log in, authenticate, log out."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Awaitable

from attrs import evolve

from domain.errors import CoatcheckError, EmailTaken, InvalidCredentials, NotAuthenticated
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
from domain.tickets import SessionTicket, TicketKey


class RegisterUser:
    """Creates a user and logs them in.

    - the email is unique regardless of case (EmailTaken);
    - the password meets the policy (NewPassword) and is stored only as a hash;
    - the new session gets a fresh ticket; the session the client held before, if any, ends;
    - all or nothing, whatever fails: the user is pending (found by nothing) until its last
      step, the confirmation, succeeds after the session is stored. A registration that
      failed leaves no user that can log in or that holds the email: a later registration
      of the email replaces it. (Its session, if stored, is one whose ticket no one holds.)
    """

    def __init__(
        self,
        users: Users,
        hasher: PasswordHasher,
        issuer: SessionIssuer,
        clock: Clock,
        events: Events,
    ) -> None:
        self._users = users
        self._hasher = hasher
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
    ) -> LoggedIn:
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
        return logged_in


async def _quietly(step: Awaitable[None]) -> None:
    """Tidy up after a failure without hiding it: a second failure changes nothing."""
    with contextlib.suppress(CoatcheckError):
        await step


class LogIn:
    """Checks credentials and starts a new session.

    - unknown email and wrong password raise the same InvalidCredentials, and an
      unknown email still costs one hash verification;
    - throttled per account and per client address (TooManyAttempts);
    - a hash made with an outdated cost is upgraded;
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
    ) -> LoggedIn:
        await self._throttle.attempt(email, client.address)
        user = await self._users.by_email(email)
        if user is None:
            await self._hasher.verify_dummy(password)
            self._events.log_in_failed("invalid-credentials")
            raise InvalidCredentials()
        if not await self._hasher.verify(password, user.password_hash):
            self._events.log_in_failed("invalid-credentials")
            raise InvalidCredentials()
        await self._throttle.succeeded(email)
        verified_hash = user.password_hash
        user = await self._upgrade_hash(user, password)
        await self._issuer.end(replacing, EndReason.REPLACED)
        logged_in = await self._issuer.start(user, kind, client)
        known_hashes = {verified_hash, user.password_hash}
        await self._end_if_password_changed(logged_in, password, known_hashes)
        self._events.logged_in(user, logged_in.session)
        return logged_in

    async def _upgrade_hash(self, user: User, password: Password) -> User:
        if not self._hasher.needs_rehash(user.password_hash):
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
