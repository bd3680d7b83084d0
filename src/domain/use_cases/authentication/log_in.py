"""Logging in with a password (and a second factor, when the account has one)."""

from __future__ import annotations

from attrs import evolve

from coatcheck.domain.errors import (
    EmailNotVerified,
    InvalidCode,
    InvalidCredentials,
    SecondFactorFailed,
    SecondFactorRequired,
)
from coatcheck.domain.events import EndReason
from coatcheck.domain.model import AuthMethod, ClientInfo, Email, Password, SessionKind, User
from coatcheck.domain.ports import Events, PasswordHasher, Sessions, Users
from coatcheck.domain.second_step import FactorCheck, PendingLogIn, Proof, SecondStep
from coatcheck.domain.sessions import LoggedIn, SessionIssuer
from coatcheck.domain.throttle import LoginThrottle
from coatcheck.domain.tickets import DeviceToken, SessionTicket
from coatcheck.domain.use_cases.log_in_session import LogInSession
from coatcheck.domain.use_cases.password_forms import matching_form, spend_a_miss


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
