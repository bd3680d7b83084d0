"""Register, log in, authenticate, log out."""

from __future__ import annotations

from coatcheck.domain.use_cases.authentication.log_in import LogIn
from coatcheck.domain.use_cases.authentication.registration import Registered, RegisterUser
from coatcheck.domain.use_cases.authentication.tickets import (
    Authenticate,
    CheckSession,
    CurrentUser,
    LogOut,
)

__all__ = [
    "Authenticate",
    "CheckSession",
    "CurrentUser",
    "LogIn",
    "LogOut",
    "RegisterUser",
    "Registered",
]
