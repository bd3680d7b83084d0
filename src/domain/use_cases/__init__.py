"""The use-cases: one small class each, constructed with ports, called with domain values."""

from domain.use_cases.authentication import (
    Authenticate,
    CheckSession,
    CurrentUser,
    LogIn,
    LogOut,
    RegisterUser,
)
from domain.use_cases.operator import RevokeUserSessions, UserSessions
from domain.use_cases.passwords import ChangePassword
from domain.use_cases.sessions import (
    ListSessions,
    RevokeOtherSessions,
    RevokeSession,
    SessionView,
)

__all__ = [
    "Authenticate",
    "ChangePassword",
    "CheckSession",
    "CurrentUser",
    "ListSessions",
    "LogIn",
    "LogOut",
    "RegisterUser",
    "RevokeOtherSessions",
    "RevokeSession",
    "RevokeUserSessions",
    "SessionView",
    "UserSessions",
]
