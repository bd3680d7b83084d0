"""The authenticator app (TOTP): setting one up, confirming it, removing it."""

from __future__ import annotations

from attrs import frozen

from coatcheck.domain.errors import FactorConflict, FactorNotFound, InvalidCode
from coatcheck.domain.factors import TotpCode
from coatcheck.domain.letters import LetterKind
from coatcheck.domain.model import ClientInfo, Password
from coatcheck.domain.notices import Notices
from coatcheck.domain.ports import Factors, OneTimePasswords, Sealer, Users
from coatcheck.domain.second_step import FactorCheck, Proof
from coatcheck.domain.sessions import Authenticated
from coatcheck.domain.use_cases.factors.reauthentication import RecentAuthentication, caller_user
from coatcheck.domain.use_cases.factors.recovery_codes import (
    FactorAdded,
    forget_codes_without_factor,
    issue_recovery_codes,
)
from coatcheck.domain.use_cases.passwords import CurrentPasswordCheck

ISSUER = "coatcheck"  # how authenticator apps name the account's entry


@frozen
class TotpEnrolment:
    """A new authenticator app, not active until a code of it is confirmed. `secret` is
    shown once, to be typed or scanned; the store keeps it sealed."""

    secret: str
    uri: str


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
