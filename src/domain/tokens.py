"""One-time tokens: the secret in an emailed link (reset a password, verify an address,
confirm a new one), and what a store keeps of it (its digest, never the token)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from attrs import frozen

from coatcheck.domain.model import Email
from coatcheck.domain.tickets import Secret


class TokenPurpose(enum.Enum):
    PASSWORD_RESET = "password-reset"  # noqa: S105 -- a name, not a secret
    VERIFY_EMAIL = "verify-email"
    CHANGE_EMAIL = "change-email"


@frozen(repr=False)
class OneTimeToken(Secret):
    """256 random bits in an emailed link; good for one use, for one purpose, for a while."""


@frozen
class TokenRecord:
    """What a store keeps of a token, under its digest: whose, for what, until when, and the
    address it concerns (the one it was sent to; for a change of email, the new one)."""

    purpose: TokenPurpose
    user_id: uuid.UUID
    email: Email
    expires_at: datetime

    def is_live(self, now: datetime) -> bool:
        return now < self.expires_at
