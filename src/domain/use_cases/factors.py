"""Second factors: the second step of a log-in, re-authentication, the authenticator app,
recovery codes, and an operator's reset."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from attrs import evolve, frozen

from coatcheck.domain.errors import (
    FactorConflict,
    FactorNotFound,
    InvalidCode,
    NotAuthenticated,
    PendingLogInMissing,
    ReauthenticationRequired,
    SecondFactorFailed,
    UserNotFound,
    WrongPassword,
)
from coatcheck.domain.factors import TotpCode, new_recovery_codes, recovery_code_digest
from coatcheck.domain.letters import LetterKind
from coatcheck.domain.model import AuthMethod, ClientInfo, Email, Password, User
from coatcheck.domain.notices import Notices
from coatcheck.domain.ports import (
    Clock,
    Events,
    Factors,
    OneTimePasswords,
    Sealer,
    Sessions,
    Users,
)
from coatcheck.domain.second_step import FactorCheck, PendingTicket, Proof, SecondStep
from coatcheck.domain.sessions import Authenticated, LoggedIn
from coatcheck.domain.tickets import SessionTicket
from coatcheck.domain.use_cases.log_in_session import LogInSession
from coatcheck.domain.use_cases.passwords import CurrentPasswordCheck

ISSUER = "coatcheck"  # how authenticator apps name the account's entry


class RecentAuthentication:
    """What matters (changing the password, the email or a factor, deleting the account)
    needs an authentication within the window: ReauthenticationRequired otherwise."""

    def __init__(self, window: timedelta, clock: Clock) -> None:
        self._window = window
        self._clock = clock

    def __call__(self, caller: Authenticated) -> None:
        if self._clock.now() - caller.session.last_authenticated_at > self._window:
            raise ReauthenticationRequired()


async def caller_user(users: Users, caller: Authenticated) -> User:
    user = await users.get(caller.session.user_id)
    if user is None:
        raise NotAuthenticated()
    return user


async def forget_codes_without_factor(factors: Factors, user_id: uuid.UUID) -> None:
    """Recovery codes recover a factor: once none is left, they go too."""
    if not (await factors.summary(user_id)).any:
        await factors.set_recovery_codes(user_id, [])


async def record_reauthentication(
    sessions: Sessions, caller: Authenticated, method: AuthMethod, now: datetime
) -> None:
    """The session was authenticated again, now, by `method`."""
    session = caller.session
    moment = now.replace(microsecond=0)
    again = evolve(session, methods=session.methods | method, authenticated_at=moment)
    if not await sessions.replace(caller.digest, again):
        raise NotAuthenticated()


async def issue_recovery_codes(factors: Factors, user: User) -> list[str]:
    codes = new_recovery_codes()
    await factors.set_recovery_codes(user.id, [recovery_code_digest(user.id, c) for c in codes])
    return codes


class CompleteLogIn:
    """The second step of a log-in: the pending log-in's second factor.

    - the pending log-in must be live and unused (PendingLogInMissing); it is used up by
      the step that succeeds, never by a wrong code;
    - wrong codes are throttled per pending log-in and per account (FactorCheck);
    - the session the client held before, if any, ends; the new one has a fresh ticket and
      records the password and the factor; reset links stop working; a new device is told
      (LogInSession).
    """

    def __init__(
        self,
        users: Users,
        second_step: SecondStep,
        factor_check: FactorCheck,
        session: LogInSession,
        events: Events,
    ) -> None:
        self._users = users
        self._second_step = second_step
        self._factor_check = factor_check
        self._session = session
        self._events = events

    async def __call__(
        self,
        ticket: PendingTicket | None,
        proof: Proof,
        client: ClientInfo,
        replacing: SessionTicket | None = None,
    ) -> LoggedIn:
        key, step = await self._second_step.held(ticket)
        assert step.user_id is not None  # held() checked it
        user = await self._users.get(step.user_id)
        if user is None:
            raise PendingLogInMissing()
        try:
            method = await self._factor_check(user, proof, key)
        except InvalidCode:
            self._events.log_in_failed("invalid-second-factor")
            raise SecondFactorFailed() from None
        await self._second_step.release(key)
        methods = step.methods | method
        logged_in = await self._session.start(user, step.kind, client, methods, replacing)
        await self._session.welcome(logged_in, client)
        return logged_in


class Reauthenticate:
    """Proves again who holds a session, which makes it recently authenticated.

    - an account with a second factor proves it with a code or a recovery code (throttled,
      FactorCheck: InvalidCode), any other with its password (CurrentPasswordCheck:
      WrongPassword, throttled like log-ins);
    - the session records when, and the method, from now on.
    """

    def __init__(
        self,
        users: Users,
        factors: Factors,
        password_check: CurrentPasswordCheck,
        factor_check: FactorCheck,
        sessions: Sessions,
        clock: Clock,
    ) -> None:
        self._users = users
        self._factors = factors
        self._password_check = password_check
        self._factor_check = factor_check
        self._sessions = sessions
        self._clock = clock

    async def __call__(
        self,
        caller: Authenticated,
        password: Password | None,
        proof: Proof,
        client: ClientInfo,
    ) -> None:
        user = await caller_user(self._users, caller)
        if (await self._factors.summary(user.id)).any:
            if not proof.given:
                raise InvalidCode("give a code of your authenticator app or a recovery code")
            method = await self._factor_check(user, proof)
        elif password is not None:
            await self._password_check(caller, password, client)
            method = AuthMethod.PASSWORD
        else:  # no password: no proof, a wrong credential like a wrong password
            raise WrongPassword()
        await record_reauthentication(self._sessions, caller, method, self._clock.now())


@frozen
class TotpEnrolment:
    """A new authenticator app, not active until a code of it is confirmed. `secret` is
    shown once, to be typed or scanned; the store keeps it sealed."""

    secret: str
    uri: str


@frozen
class FactorAdded:
    """A factor now guards the account; the first one comes with recovery codes."""

    recovery_codes: list[str] | None


class SetUpTotp:
    """Starts an authenticator app: a new secret, sealed at rest (FACTOR_KEYS).

    - needs a recent authentication (RecentAuthentication);
    - an active app must be removed first (FactorConflict); an unconfirmed one is replaced.
    """

    def __init__(
        self,
        users: Users,
        factors: Factors,
        sealer: Sealer,
        passwords: OneTimePasswords,
        recent: RecentAuthentication,
    ) -> None:
        self._users = users
        self._factors = factors
        self._sealer = sealer
        self._passwords = passwords
        self._recent = recent

    async def __call__(self, caller: Authenticated) -> TotpEnrolment:
        self._recent(caller)
        user = await caller_user(self._users, caller)
        secret = self._passwords.new_secret()
        sealed = self._sealer.seal(secret.encode(), user.id.bytes)
        if not await self._factors.start_totp(user.id, sealed):
            raise FactorConflict("an authenticator app is active already: remove it first")
        return TotpEnrolment(secret, self._passwords.uri(secret, user.email.value, ISSUER))


class ConfirmTotp:
    """Activates the app that was set up, with a code of it.

    - needs a recent authentication; a wrong code raises InvalidCode (throttled per
      account, FactorCheck's budget), and no app set up FactorNotFound;
    - the first factor of the account comes with ten recovery codes, shown once;
    - the account's address is told.
    """

    def __init__(
        self,
        users: Users,
        factors: Factors,
        factor_check: FactorCheck,
        recent: RecentAuthentication,
        notices: Notices,
    ) -> None:
        self._users = users
        self._factors = factors
        self._factor_check = factor_check
        self._recent = recent
        self._notices = notices

    async def __call__(
        self, caller: Authenticated, code: TotpCode, client: ClientInfo
    ) -> FactorAdded:
        self._recent(caller)
        user = await caller_user(self._users, caller)
        setup = await self._factors.totp(user.id)
        if setup is None or setup.active:
            raise FactorNotFound("no authenticator app is waiting to be confirmed")
        first = not (await self._factors.summary(user.id)).any
        secret = self._factor_check.secret(user.id, setup.sealed_secret)
        await self._factor_check.throttle.attempt(user.id)
        step = self._factor_check.matching_step(secret, code)
        if step is None or not await self._factors.activate_totp(
            user.id, setup.sealed_secret, step
        ):
            raise InvalidCode()
        await self._factor_check.throttle.succeeded(user.id)
        self._notices.factor_changed(LetterKind.TOTP_ADDED, user, client)
        codes = await issue_recovery_codes(self._factors, user) if first else None
        return FactorAdded(codes)


class RemoveTotp:
    """Removes the authenticator app.

    - needs a recent authentication, the current password (WrongPassword) and a code of
      the app (InvalidCode); no active app: FactorNotFound;
    - once no factor is left, the recovery codes go too; the account's address is told.
    """

    def __init__(
        self,
        factors: Factors,
        password_check: CurrentPasswordCheck,
        factor_check: FactorCheck,
        recent: RecentAuthentication,
        notices: Notices,
    ) -> None:
        self._factors = factors
        self._password_check = password_check
        self._factor_check = factor_check
        self._recent = recent
        self._notices = notices

    async def __call__(
        self, caller: Authenticated, password: Password, code: TotpCode, client: ClientInfo
    ) -> None:
        self._recent(caller)
        user = (await self._password_check(caller, password, client)).user
        if not (await self._factors.summary(user.id)).totp:
            raise FactorNotFound("no authenticator app is active")
        await self._factor_check(user, Proof(code=code))
        await self._factors.remove_totp(user.id)
        await forget_codes_without_factor(self._factors, user.id)
        self._notices.factor_changed(LetterKind.TOTP_REMOVED, user, client)


class RegenerateRecoveryCodes:
    """A new set of recovery codes, the old set void.

    - needs a recent authentication and the current password (WrongPassword);
    - only for an account with a factor (FactorNotFound): they recover nothing otherwise.
    """

    def __init__(
        self,
        factors: Factors,
        password_check: CurrentPasswordCheck,
        recent: RecentAuthentication,
    ) -> None:
        self._factors = factors
        self._password_check = password_check
        self._recent = recent

    async def __call__(
        self, caller: Authenticated, password: Password, client: ClientInfo
    ) -> list[str]:
        self._recent(caller)
        user = (await self._password_check(caller, password, client)).user
        if not (await self._factors.summary(user.id)).any:
            raise FactorNotFound("the account has no second factor to recover")
        return await issue_recovery_codes(self._factors, user)


class ResetFactors:
    """An operator removes every factor of a user, after an identity check done elsewhere.

    - an unknown email raises UserNotFound;
    - the app, the passkeys and the recovery codes go; the account's address is told, and
      the operator's log says so (without any secret).
    """

    def __init__(self, users: Users, factors: Factors, notices: Notices, events: Events) -> None:
        self._users = users
        self._factors = factors
        self._notices = notices
        self._events = events

    async def __call__(self, email: Email) -> None:
        user = await self._users.by_email(email)
        if user is None:
            raise UserNotFound()
        had = await self._factors.remove_all(user.id)
        self._events.factors_reset(user, had)
        self._notices.factor_changed(LetterKind.FACTORS_RESET, user, None)
