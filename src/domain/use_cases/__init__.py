"""The use-cases: one small class each, constructed with ports, called with domain values."""

from coatcheck.domain.use_cases.authentication import (
    Authenticate,
    CheckSession,
    CurrentUser,
    LogIn,
    LogOut,
    Registered,
    RegisterUser,
)
from coatcheck.domain.use_cases.deletion import DeleteAccount, EraseUser
from coatcheck.domain.use_cases.email_address import (
    ChangeEmail,
    RequestEmailChange,
    ResendVerification,
    SendVerification,
    VerifyEmail,
)
from coatcheck.domain.use_cases.operator import DeleteUser, RevokeUserSessions, UserSessions
from coatcheck.domain.use_cases.password_reset import RequestPasswordReset, ResetPassword
from coatcheck.domain.use_cases.passwords import ChangePassword, CurrentPasswordCheck
from coatcheck.domain.use_cases.sessions import (
    ListSessions,
    RevokeOtherSessions,
    RevokeSession,
    SessionView,
)

__all__ = [
    "Authenticate",
    "ChangeEmail",
    "ChangePassword",
    "CheckSession",
    "CurrentPasswordCheck",
    "CurrentUser",
    "DeleteAccount",
    "DeleteUser",
    "EraseUser",
    "ListSessions",
    "LogIn",
    "LogOut",
    "RegisterUser",
    "Registered",
    "RequestEmailChange",
    "RequestPasswordReset",
    "ResendVerification",
    "ResetPassword",
    "RevokeOtherSessions",
    "RevokeSession",
    "RevokeUserSessions",
    "SendVerification",
    "SessionView",
    "UserSessions",
    "VerifyEmail",
]
