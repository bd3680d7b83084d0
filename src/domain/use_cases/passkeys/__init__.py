"""Passkeys (WebAuthn): registering one while logged in, naming and removing them, logging in
with one and no password, and using one as a second factor or to authenticate again (each
challenge bound to what asked for it: challenges.py)."""

from __future__ import annotations

from coatcheck.domain.use_cases.passkeys.log_in import (
    PasskeyChallenge,
    PasskeyLogIn,
    PasskeyReauthentication,
)
from coatcheck.domain.use_cases.passkeys.registration import (
    RegisterPasskey,
    RemovePasskey,
    RenamePasskey,
    StartPasskeyRegistration,
)

__all__ = [
    "PasskeyChallenge",
    "PasskeyLogIn",
    "PasskeyReauthentication",
    "RegisterPasskey",
    "RemovePasskey",
    "RenamePasskey",
    "StartPasskeyRegistration",
]
