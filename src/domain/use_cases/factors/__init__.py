"""Second factors: the second step of a log-in, re-authentication, the authenticator app,
recovery codes, and an operator's reset."""

from __future__ import annotations

from coatcheck.domain.use_cases.factors.log_in import CompleteLogIn
from coatcheck.domain.use_cases.factors.reauthentication import Reauthenticate, RecentAuthentication
from coatcheck.domain.use_cases.factors.recovery_codes import FactorAdded, RegenerateRecoveryCodes
from coatcheck.domain.use_cases.factors.reset import ResetFactors
from coatcheck.domain.use_cases.factors.totp import (
    ConfirmTotp,
    RemoveTotp,
    SetUpTotp,
    TotpEnrolment,
)

__all__ = [
    "CompleteLogIn",
    "ConfirmTotp",
    "FactorAdded",
    "Reauthenticate",
    "RecentAuthentication",
    "RegenerateRecoveryCodes",
    "RemoveTotp",
    "ResetFactors",
    "SetUpTotp",
    "TotpEnrolment",
]
