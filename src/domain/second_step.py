"""The second step of a log-in: checking a code or a recovery code (throttled like
passwords), and holding a log-in whose password was right until its second factor comes."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import datetime, timedelta

from attrs import frozen

from coatcheck.domain.errors import (
    InvalidCode,
    InvalidValue,
    PendingLogInMissing,
    TooManyAttempts,
)
from coatcheck.domain.factors import (
    FactorSummary,
    PendingPurpose,
    PendingStep,
    RecoveryCode,
    TotpCode,
    recovery_code_digest,
    totp_step,
)
from coatcheck.domain.model import AuthMethod, SessionKind, User
from coatcheck.domain.notices import Notices
from coatcheck.domain.ports import (
    Clock,
    Events,
    Factors,
    LoginAttempts,
    OneTimePasswords,
    PendingSteps,
    Sealer,
)
from coatcheck.domain.throttle import Budget, ThrottlePolicy, spend
from coatcheck.domain.tickets import DeviceToken, Secret, TicketKey

PENDING_LOG_IN_LIFETIME = timedelta(minutes=5)
TOTP_DRIFT_STEPS = 1  # a code of the step before or after is accepted too


@frozen(repr=False)
class PendingTicket(Secret):
    """What a browser holds between a right password and its second factor: not a session."""


@frozen
class Proof:
    """A second factor as given: a code from the app, or a recovery code."""

    code: TotpCode | None = None
    recovery_code: RecoveryCode | None = None

    @property
    def given(self) -> bool:
        return self.code is not None or self.recovery_code is not None


@frozen
class PendingLogIn:
    """A right password, waiting for its second factor."""

    ticket: PendingTicket
    methods: list[str]
    expires_at: datetime
    device: DeviceToken | None = None


def pending_key(key: TicketKey, ticket: PendingTicket) -> str:
    return "pending:" + key.digest(ticket)


class FactorThrottle:
    """Wrong codes are throttled like passwords: per account (a budget of its own, the
    account's arithmetic: ThrottlePolicy.account) and per pending log-in (its limit, then
    growing delays), so guessing six digits takes days, not minutes."""

    def __init__(
        self, attempts: LoginAttempts, policy: ThrottlePolicy, clock: Clock, events: Events
    ) -> None:
        self._attempts = attempts
        self._policy = policy
        self._clock = clock
        self._events = events

    @staticmethod
    def _account(user_id: uuid.UUID) -> str:
        return "factor:" + hashlib.sha256(user_id.bytes).hexdigest()[:32]

    async def attempt(self, user_id: uuid.UUID, pending: str | None = None) -> None:
        if not self._policy.enabled:
            return
        budgets = [(self._account(user_id), self._policy.account)]
        if pending is not None:
            policy = self._policy
            window = PENDING_LOG_IN_LIFETIME
            budgets.append(
                (pending, Budget(policy.account_limit, window, policy.base_delay, policy.max_delay))
            )
        try:
            await spend(self._attempts, budgets, self._clock.now(), "too many wrong codes")
        except TooManyAttempts as refused:
            self._events.throttled("second-factor", refused.retry_after_seconds)
            raise

    async def succeeded(self, user_id: uuid.UUID) -> None:
        if self._policy.enabled:
            await self._attempts.clear(self._account(user_id))


class FactorCheck:
    """Checks a second factor of a user.

    - a code of the active app, of this time step or one either side, accepted once (a code
      of a step at or before the last one accepted is refused: no replay);
    - a recovery code of the user's set, used up (and the account's address told);
    - anything else raises InvalidCode; every attempt is counted (FactorThrottle).
    """

    def __init__(
        self,
        factors: Factors,
        sealer: Sealer,
        passwords: OneTimePasswords,
        throttle: FactorThrottle,
        notices: Notices,
        clock: Clock,
    ) -> None:
        self._factors = factors
        self._sealer = sealer
        self._passwords = passwords
        self.throttle = throttle
        self._notices = notices
        self._clock = clock

    def secret(self, user_id: uuid.UUID, sealed: bytes) -> str:
        return self._sealer.open(sealed, user_id.bytes).decode()

    def matching_step(self, secret: str, code: TotpCode) -> int | None:
        now = totp_step(self._clock.now())
        for step in range(now - TOTP_DRIFT_STEPS, now + TOTP_DRIFT_STEPS + 1):
            if hmac.compare_digest(self._passwords.code(secret, step), code.value):
                return step
        return None

    async def __call__(self, user: User, proof: Proof, pending: str | None = None) -> AuthMethod:
        await self.throttle.attempt(user.id, pending)
        if proof.code is not None and await self._totp(user.id, proof.code):
            method = AuthMethod.TOTP
        elif proof.recovery_code is not None and await self._factors.use_recovery_code(
            user.id, recovery_code_digest(user.id, proof.recovery_code.value)
        ):
            self._notices.recovery_code_used(user)
            method = AuthMethod.RECOVERY_CODE
        else:
            raise InvalidCode()
        await self.throttle.succeeded(user.id)
        return method

    async def _totp(self, user_id: uuid.UUID, code: TotpCode) -> bool:
        setup = await self._factors.totp(user_id)
        if setup is None or not setup.active:
            return False
        try:
            secret = self.secret(user_id, setup.sealed_secret)
        except InvalidValue:
            return False  # sealed under a key no longer configured: the app is lost
        step = self.matching_step(secret, code)
        return step is not None and await self._factors.use_totp_step(user_id, step)


class SecondStep:
    """Holds a log-in whose password was right until its second factor comes: a pending
    step (not a session), short-lived, under the digest of a ticket of its own."""

    def __init__(self, factors: Factors, steps: PendingSteps, key: TicketKey, clock: Clock) -> None:
        self._factors = factors
        self._steps = steps
        self._key = key
        self._clock = clock

    async def required(self, user_id: uuid.UUID) -> FactorSummary:
        return await self._factors.summary(user_id)

    async def hold(self, user: User, kind: SessionKind, summary: FactorSummary) -> PendingLogIn:
        ticket = PendingTicket.issue()
        expires = self._clock.now() + PENDING_LOG_IN_LIFETIME
        step = PendingStep(PendingPurpose.LOG_IN, expires, user.id, kind)
        await self._steps.put(pending_key(self._key, ticket), step, self._clock.now())
        return PendingLogIn(ticket, summary.methods, expires)

    async def held(self, ticket: PendingTicket | None) -> tuple[str, PendingStep]:
        """The pending log-in a ticket names, and its key; PendingLogInMissing if none."""
        if ticket is None:
            raise PendingLogInMissing()
        key = pending_key(self._key, ticket)
        step = await self._steps.get(key)
        if (
            step is None
            or step.purpose is not PendingPurpose.LOG_IN
            or step.user_id is None
            or not step.is_live(self._clock.now())
        ):
            raise PendingLogInMissing()
        return key, step

    async def release(self, key: str) -> None:
        """Use the pending log-in up: of two parallel second steps, one wins."""
        if await self._steps.take(key) is None:
            raise PendingLogInMissing()
