"""Second factors: an authenticator app (TOTP), passkeys (WebAuthn) and recovery codes, and
the short-lived steps between a right password and a session."""

from __future__ import annotations

import enum
import hashlib
import secrets
import uuid
from datetime import datetime

from attrs import field, frozen

from coatcheck.domain.errors import InvalidValue
from coatcheck.domain.model import AuthMethod, SessionKind, has_control_characters

RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
_RECOVERY_GROUP = 5
PASSKEY_NAME_MAX_LENGTH = 64
TOTP_DIGITS = 6
TOTP_PERIOD_SECONDS = 30


def new_recovery_codes() -> list[str]:
    """Ten codes of 10 characters from 31 (about 50 random bits each): xxxxx-xxxxx."""

    def one() -> str:
        chars = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(2 * _RECOVERY_GROUP))
        return f"{chars[:_RECOVERY_GROUP]}-{chars[_RECOVERY_GROUP:]}"

    return [one() for _ in range(RECOVERY_CODE_COUNT)]


def _recovery_form(code: str) -> str:
    """A recovery code in one form: case, spaces and dashes ignored."""
    return "".join(code.split()).replace("-", "").lower()


def recovery_code_digest(user_id: uuid.UUID, code: str) -> str:
    """What the store keeps of a recovery code: a hash, salted by its user, of the code in
    its one form. The codes are random, so a fast hash is enough, and no server secret is
    involved: changing SESSION_SECRET keeps them working."""
    return hashlib.sha256(user_id.bytes + _recovery_form(code).encode()).hexdigest()


def totp_step(moment: datetime) -> int:
    """The RFC 6238 time step a moment falls in."""
    return int(moment.timestamp()) // TOTP_PERIOD_SECONDS


def _check_code(value: str) -> str:
    value = "".join(value.split())
    if not (value.isascii() and value.isdigit() and len(value) == TOTP_DIGITS):
        raise InvalidValue(f"must be {TOTP_DIGITS} digits")
    return value


@frozen(repr=False)
class _TypedCode:
    """A code its user typed: it never prints itself."""

    value: str = field(repr=False)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<redacted>)"


@frozen(repr=False)
class TotpCode(_TypedCode):
    """Six digits from an authenticator app (spaces ignored)."""

    value: str = field(converter=_check_code, repr=False)


def _check_recovery(value: str) -> str:
    compact = _recovery_form(value)
    if len(compact) != 2 * _RECOVERY_GROUP or not set(compact) <= set(_RECOVERY_ALPHABET):
        raise InvalidValue("must be a recovery code as it was shown (xxxxx-xxxxx)")
    return compact


@frozen(repr=False)
class RecoveryCode(_TypedCode):
    value: str = field(converter=_check_recovery, repr=False)


def _check_passkey_name(value: str) -> str:
    value = value.strip()
    # The rule of a user's name: not blank, no control or format characters.
    if not value or len(value) > PASSKEY_NAME_MAX_LENGTH or has_control_characters(value):
        raise InvalidValue(f"must be 1 to {PASSKEY_NAME_MAX_LENGTH} printable characters")
    return value


@frozen
class PasskeyName:
    value: str = field(converter=_check_passkey_name)


@frozen
class TotpSetup:
    """A user's authenticator app: its secret sealed (never stored in the clear), whether it
    was confirmed, and the last time step a code was accepted for (no code twice)."""

    user_id: uuid.UUID
    sealed_secret: bytes = field(repr=False)
    active: bool = False
    last_step: int = 0


@frozen
class Passkey:
    """A WebAuthn credential registered to a user."""

    credential_id: bytes
    user_id: uuid.UUID
    public_key: bytes = field(repr=False)
    sign_count: int
    name: PasskeyName
    created_at: datetime
    last_used_at: datetime | None = None


@frozen
class NewCredential:
    """What a verified registration gives: the passkey to keep, but its name and owner."""

    credential_id: bytes
    public_key: bytes = field(repr=False)
    sign_count: int


@frozen
class FactorSummary:
    """What second factors a user has: one store read."""

    totp: bool = False
    passkeys: int = 0
    recovery_codes: int = 0

    @property
    def any(self) -> bool:
        """An account with a factor needs it (or a passkey) at every log-in."""
        return self.totp or self.passkeys > 0

    @property
    def methods(self) -> list[str]:
        """What a second step may use, by name."""
        if not self.any:
            return []
        return [
            name
            for name, present in (
                ("totp", self.totp),
                ("passkey", self.passkeys > 0),
                ("recovery-code", self.recovery_codes > 0),
            )
            if present
        ]


class PendingPurpose(enum.Enum):
    LOG_IN = "log-in"  # a right password, waiting for its second factor
    PASSKEY_LOG_IN = "passkey-log-in"  # a challenge for a passkey and no password
    PASSKEY_REGISTRATION = "passkey-registration"  # a challenge for a new passkey


@frozen
class PendingStep:
    """A step between two requests, that is not a session: short-lived, taken once."""

    purpose: PendingPurpose
    expires_at: datetime
    user_id: uuid.UUID | None = None
    kind: SessionKind = SessionKind.BROWSER
    methods: AuthMethod = AuthMethod.PASSWORD  # what is proven so far
    challenge: bytes | None = field(default=None, repr=False)  # a WebAuthn challenge

    def is_live(self, now: datetime) -> bool:
        return now < self.expires_at
