"""The users' store: users, their password hashes, one-time tokens and known devices."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from coatcheck.domain.model import Email, Password, User
from coatcheck.domain.tokens import TokenPurpose, TokenRecord


class Users(Protocol):
    """Only real users are ever found. A registration's user is pending until confirmed."""

    async def add(self, user: User) -> None:
        """Store a new, real user; raise EmailTaken if the email is already used."""

    async def add_pending(self, user: User) -> None:
        """Store a user that is not real (found by nothing, able to log in nowhere) until
        confirm() makes it so. It replaces a pending user of the same email; EmailTaken if
        a real user has it."""

    async def confirm(self, user_id: uuid.UUID) -> bool:
        """Make a pending user real; False if it is gone (a later registration of the email
        replaced it). A store may refuse, as StoreUnavailable, a confirmation that arrives
        too late: after the request that sent it has answered."""
        ...

    async def get(self, user_id: uuid.UUID) -> User | None: ...

    async def by_email(self, email: Email) -> User | None: ...

    async def set_password_hash(
        self, user_id: uuid.UUID, password_hash: str, replacing: str
    ) -> bool:
        """Store a new hash only if the stored one is still `replacing` (compare-and-set);
        False, and no write, if it changed meanwhile."""
        ...

    async def verify_email(self, user_id: uuid.UUID, email: Email) -> User | None:
        """Mark the address verified if it is still the user's; the user as stored then, or
        None (and no write) if the user is gone or has another address now."""
        ...

    async def change_email(self, user_id: uuid.UUID, email: Email, replacing: Email) -> User | None:
        """Give the user the new address, verified, if the old one is still `replacing`
        (compare-and-set); the user as stored then, or None. EmailTaken if another user has it."""
        ...

    async def remove(self, user_id: uuid.UUID) -> bool:
        """Delete the user and everything this store keeps about them (their one-time tokens,
        their known devices); False if there was no such user."""
        ...

    async def stored_emails(self) -> Sequence[tuple[uuid.UUID, str]]:
        """Every user's id and address exactly as stored: the operator's survey of the
        addresses older releases stored in another form (a whole-table read)."""
        ...


class PasswordHasher(Protocol):
    async def hash(self, password: Password) -> str: ...

    async def verify(self, password: Password, password_hash: str) -> bool: ...

    async def verify_dummy(self, password: Password) -> None:
        """Spend what one verification costs, for an email that has no user."""

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made with another cost than the configured one."""
        ...


class AccountTokens(Protocol):
    """One-time tokens, keyed by the HMAC digest of the token (the store never sees one)."""

    async def issue(self, digest: str, record: TokenRecord, now: datetime) -> None:
        """Store the token; every other token of the user for the same purpose is dropped (a
        newer request makes older links useless), and so is every expired one."""

    async def take(self, digest: str, purpose: TokenPurpose) -> TokenRecord | None:
        """Remove and return the token of this purpose, atomically: of parallel takes of
        one token, one wins. Expired ones are returned too (the caller checks)."""
        ...

    async def discard(self, user_id: uuid.UUID, purposes: Sequence[TokenPurpose]) -> None:
        """Drop every token of the user for these purposes."""


class KnownDevices(Protocol):
    """The browsers and clients each user has been seen on, by keyed fingerprint."""

    async def remember(self, user_id: uuid.UUID, fingerprint: str, now: datetime) -> bool:
        """Record the device; True only if it is new to a user already seen on another."""
        ...
