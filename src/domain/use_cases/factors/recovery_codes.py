"""Recovery codes: issued with an account's first factor, renewed on demand, gone with its last."""

from __future__ import annotations

import uuid

from attrs import frozen

from coatcheck.domain.errors import FactorNotFound
from coatcheck.domain.factors import new_recovery_codes, recovery_code_digest
from coatcheck.domain.model import ClientInfo, Password, User
from coatcheck.domain.ports import Factors
from coatcheck.domain.sessions import Authenticated
from coatcheck.domain.use_cases.factors.reauthentication import RecentAuthentication
from coatcheck.domain.use_cases.passwords import CurrentPasswordCheck


@frozen
class FactorAdded:
    """A factor now guards the account; the first one comes with recovery codes."""

    recovery_codes: list[str] | None


async def issue_recovery_codes(factors: Factors, user: User) -> list[str]:
    codes = new_recovery_codes()
    await factors.set_recovery_codes(user.id, [recovery_code_digest(user.id, c) for c in codes])
    return codes


async def forget_codes_without_factor(factors: Factors, user_id: uuid.UUID) -> None:
    """Recovery codes recover a factor: once none is left, they go too."""
    if not (await factors.summary(user_id)).any:
        await factors.set_recovery_codes(user_id, [])


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
