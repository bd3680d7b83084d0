"""Letters: what coatcheck tells a user by email. The domain says what to tell and to whom;
an adapter writes the message (its text and HTML parts, and the link of a token)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime, timedelta

from attrs import frozen

from coatcheck.domain.model import ClientInfo, Email, Name, User
from coatcheck.domain.tokens import OneTimeToken


class LetterKind(enum.Enum):
    PASSWORD_RESET = "password-reset"  # noqa: S105 -- a link to choose a new password
    VERIFY_EMAIL = "verify-email"  # a link that proves the address is the user's
    CONFIRM_NEW_EMAIL = "confirm-new-email"  # to the new address: a link that makes the change
    PASSWORD_CHANGED = "password-changed"  # noqa: S105 -- notice: changed by its owner
    PASSWORD_RESET_DONE = "password-reset-done"  # noqa: S105 -- notice: reset by a link
    EMAIL_CHANGED = "email-changed"  # notice, to the old address
    NEW_DEVICE = "new-device"  # notice: a log-in from a browser or client not seen before
    NO_ACCOUNT = "no-account"  # a reset was asked for an address that has no account
    ADDRESS_TAKEN = "address-taken"  # an account asked to move to an address another one has
    TOTP_ADDED = "totp-added"  # notice: an authenticator app now guards the account
    TOTP_REMOVED = "totp-removed"  # notice
    PASSKEY_ADDED = "passkey-added"  # notice
    PASSKEY_REMOVED = "passkey-removed"  # notice
    RECOVERY_CODE_USED = "recovery-code-used"  # notice: one of the account's codes was used
    FACTORS_RESET = "factors-reset"  # notice: an operator removed every second factor

    @property
    def carries_token(self) -> bool:
        return self in _WITH_TOKEN


_WITH_TOKEN = {LetterKind.PASSWORD_RESET, LetterKind.VERIFY_EMAIL, LetterKind.CONFIRM_NEW_EMAIL}


@frozen
class Letter:
    """A message to one address. A letter with a token is a secret: never log one."""

    kind: LetterKind
    to: Email
    name: Name | None  # None: the address has no account (NO_ACCOUNT)
    at: datetime
    token: OneTimeToken | None = None  # prints itself redacted
    valid_for: timedelta | None = None  # how long the token's link works
    new_email: Email | None = None  # EMAIL_CHANGED: the address it was changed to
    client: ClientInfo | None = None  # what the request that caused it came from


def to_account(
    kind: LetterKind,
    user: User,
    at: datetime,
    *,
    to: Email | None = None,
    token: OneTimeToken | None = None,
    valid_for: timedelta | None = None,
    new_email: Email | None = None,
    client: ClientInfo | None = None,
) -> Letter:
    """A letter about `user`'s account, to its address or to `to`. What the account's holder
    chose (their name, the client they acted from, an address they moved to) goes only to
    an address that account has verified: to any other, the letter tells only what the
    service says. Anyone may register a stranger's address, or ask to move to it, with a
    name (or User-Agent) such as "Call +1-555-0100 to claim your prize"; coatcheck must not
    carry it to that stranger's inbox."""
    to = user.email if to is None else to
    own = user.email_verified and to == user.email
    return Letter(
        kind,
        to,
        user.name if own else None,
        at,
        token=token,
        valid_for=valid_for,
        new_email=new_email if own else None,
        client=client if own else None,
    )


class Undeliverable(Exception):
    """The mail server refused the letter for good (SMTP 5xx): it is never retried."""


class OrderKind(enum.Enum):
    """What a request asks to be sent, whoever turns out to be behind the address."""

    PASSWORD_RESET = "password-reset"  # noqa: S105 -- to an address, with or without an account
    VERIFY_EMAIL = "verify-email"  # to a user's own address
    CHANGE_EMAIL = "change-email"  # to the address a user asked to move to


@frozen
class LetterOrder:
    """A request's durable ask for a letter: stored as it is whether or not the address has an
    account (or is taken), so that nothing the request does tells one from the other; the
    outbox's worker resolves it into a letter (and its token)."""

    kind: OrderKind
    at: datetime
    to: Email | None = None  # PASSWORD_RESET, CHANGE_EMAIL: the address
    user_id: uuid.UUID | None = None  # VERIFY_EMAIL, CHANGE_EMAIL: who asked
