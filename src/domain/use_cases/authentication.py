"""Register, log in, authenticate, log out."""

from __future__ import annotations

import uuid

from attrs import evolve, frozen

from domain.errors import EmailNotVerified, EmailTaken, InvalidCredentials, NotAuthenticated
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
from domain.notices import Notices
from domain.ports import Clock, PasswordHasher, Sessions, Users
from domain.sessions import Authenticated, LoggedIn, SessionIssuer, SessionPolicy
from domain.throttle import LoginThrottle
from domain.tickets import SessionTicket, TicketKey
from domain.token_issuer import TokenIssuer
from domain.tokens import TokenPurpose
from domain.use_cases.email_address import SendVerification


@frozen
class Registered:
    user: User
    logged_in: LoggedIn | None  # None while a verified address is required to log in


class RegisterUser:
    """Creates a user and logs them in.

    - the email is unique regardless of case (EmailTaken);
    - the password meets the policy (NewPassword) and is stored only as a hash;
    - the new session gets a fresh ticket; the session the client held before, if any, ends;
    - all or nothing: no user without a session, no session without a user;
    - a link to verify the address is sent; when a verified address is required to log in,
      no session starts until it is followed.
    """

    def __init__(
        self,
        users: Users,
        hasher: PasswordHasher,
        issuer: SessionIssuer,
        clock: Clock,
        send_verification: SendVerification,
        notices: Notices,
        require_verified_email: bool = False,
    ) -> None:
        self._users = users
        self._hasher = hasher
        self._issuer = issuer
        self._clock = clock
        self._send_verification = send_verification
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
    ) -> Registered:
        if await self._users.by_email(email) is not None:
            raise EmailTaken()
        user = User(
            id=uuid.uuid4(),
            email=email,
            name=name,
            password_hash=await self._hasher.hash(password),
            created_at=to_the_second(self._clock.now()),
        )
        logged_in = None
        if self._require_verified_email:
            await self._users.add(user)
        else:
            # The session first: if the session store fails, no user is left half registered.
            logged_in = await self._issuer.start(user, kind, client)
            try:
                await self._users.add(user)  # raises EmailTaken if a concurrent register won
            except BaseException:
                await self._issuer.end(logged_in.ticket)
                raise
            await self._issuer.end(replacing)
        self._send_verification(user)
        self._notices.seen(user, client)  # its first device: remembered, nobody told
        return Registered(user, logged_in)


class LogIn:
    """Checks credentials and starts a new session.

    - unknown email and wrong password raise the same InvalidCredentials, and an
      unknown email still costs one hash verification;
    - throttled per account and per client address (TooManyAttempts);
    - when required, the address must be verified (EmailNotVerified, once the password
      is right);
    - a hash made with an outdated cost is upgraded;
    - the session the client held before, if any, ends; the new one has a fresh ticket,
      and carries the user as stored once it exists;
    - password-reset links sent before stop working; a log-in from a device the account
      has not been seen on is told to its address.
    """

    def __init__(
        self,
        users: Users,
        hasher: PasswordHasher,
        throttle: LoginThrottle,
        issuer: SessionIssuer,
        sessions: Sessions,
        tokens: TokenIssuer,
        notices: Notices,
        require_verified_email: bool = False,
    ) -> None:
        self._users = users
        self._hasher = hasher
        self._throttle = throttle
        self._issuer = issuer
        self._sessions = sessions
        self._tokens = tokens
        self._notices = notices
        self._require_verified_email = require_verified_email

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
            raise InvalidCredentials()
        if not await self._hasher.verify(password, user.password_hash):
            raise InvalidCredentials()
        await self._throttle.succeeded(email)
        if self._require_verified_email and not user.email_verified:
            raise EmailNotVerified()
        verified_hash = user.password_hash
        user = await self._upgrade_hash(user, password)
        await self._issuer.end(replacing)
        logged_in = await self._issuer.start(user, kind, client)
        known_hashes = {verified_hash, user.password_hash}
        stored = await self._end_if_password_changed(logged_in, password, known_hashes)
        if stored.public != user.public:  # verified or changed meanwhile: show it at once
            await self._sessions.update_user(stored.public)
            logged_in = evolve(logged_in, user=stored)
        await self._tokens.discard(user.id, TokenPurpose.PASSWORD_RESET)
        self._notices.seen(logged_in.user, client)
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
        await self._issuer.end(logged_in.ticket)
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

    def __init__(self, issuer: SessionIssuer) -> None:
        self._issuer = issuer

    async def __call__(self, ticket: SessionTicket | None) -> None:
        await self._issuer.end(ticket)
