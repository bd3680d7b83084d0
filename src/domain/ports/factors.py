"""Second factors. Factors live in the users' store, beside the users they belong to (and are
deleted with them); pending steps are short-lived, in the sessions' store."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from coatcheck.domain.factors import (
    FactorSummary,
    NewCredential,
    Passkey,
    PasskeyName,
    PendingStep,
    TotpSetup,
)
from coatcheck.domain.model import User


class Factors(Protocol):
    """A user's authenticator app, recovery codes (as digests) and passkeys."""

    async def summary(self, user_id: uuid.UUID) -> FactorSummary:
        """Which factors the user has (an inactive authenticator app is none), in one read."""
        ...

    async def totp(self, user_id: uuid.UUID) -> TotpSetup | None: ...

    async def start_totp(self, user_id: uuid.UUID, sealed_secret: bytes) -> bool:
        """Store a new, inactive authenticator app, replacing an inactive one; False (and no
        write) if an active one is there, or the user is gone."""
        ...

    async def activate_totp(self, user_id: uuid.UUID, sealed_secret: bytes, step: int) -> bool:
        """Activate the inactive app of this secret, its code of `step` used; False if there
        is none (replaced or activated meanwhile)."""
        ...

    async def use_totp_step(self, user_id: uuid.UUID, step: int) -> bool:
        """Record that the active app's code of `step` was accepted, only if no code of this
        step or a later one was (atomically: of parallel uses of one code, one wins)."""
        ...

    async def remove_totp(self, user_id: uuid.UUID) -> bool: ...

    async def set_recovery_codes(self, user_id: uuid.UUID, digests: Sequence[str]) -> None:
        """Replace the user's recovery codes: the old set is void."""

    async def use_recovery_code(self, user_id: uuid.UUID, digest: str) -> bool:
        """Remove the code, atomically; False if the user has no such code (or it was used)."""
        ...

    async def add_passkey(self, passkey: Passkey) -> bool:
        """False (and no write) if the credential is registered already, or the user is gone."""
        ...

    async def passkeys(self, user_id: uuid.UUID) -> Sequence[Passkey]:
        """The user's passkeys, oldest first."""
        ...

    async def passkey(self, credential_id: bytes) -> Passkey | None: ...

    async def rename_passkey(
        self, user_id: uuid.UUID, credential_id: bytes, name: PasskeyName
    ) -> bool: ...

    async def remove_passkey(self, user_id: uuid.UUID, credential_id: bytes) -> bool: ...

    async def use_passkey(
        self, credential_id: bytes, replacing_count: int, sign_count: int, now: datetime
    ) -> bool:
        """Record a use: the new signature counter and when, only if the stored counter is
        still `replacing_count` (compare-and-set: a cloned key's use races and loses)."""
        ...

    async def remove_all(self, user_id: uuid.UUID) -> FactorSummary:
        """Remove every factor and recovery code of the user; what there was."""
        ...


class PendingSteps(Protocol):
    """Short-lived records keyed by a digest (of a pending cookie, or of a session)."""

    async def put(self, key: str, step: PendingStep, now: datetime) -> None:
        """Store (or replace) the step until its expiry (a store may drop those dead at `now`)."""

    async def get(self, key: str) -> PendingStep | None: ...

    async def take(self, key: str) -> PendingStep | None:
        """Remove and return it, atomically: of parallel takes, one wins."""
        ...


class Sealer(Protocol):
    """Authenticated encryption of small secrets at rest, under keys of their own."""

    def seal(self, plaintext: bytes, context: bytes) -> bytes:
        """Encrypt under the newest key; `context` is authenticated, not stored."""
        ...

    def open(self, sealed: bytes, context: bytes) -> bytes:
        """Decrypt under whichever configured key sealed it; InvalidValue if none did, or
        the context differs, or it was altered."""
        ...


class OneTimePasswords(Protocol):
    """The authenticator app's algorithm (RFC 6238: SHA-1, 6 digits, 30 seconds)."""

    def new_secret(self) -> str:
        """A new base32 secret."""
        ...

    def code(self, secret: str, step: int) -> str: ...

    def uri(self, secret: str, account: str, issuer: str) -> str:
        """The otpauth:// URI an app scans."""
        ...


class PasskeyCeremonies(Protocol):
    """WebAuthn's two ceremonies, for this relying party (its id and origin configured).
    Credentials are the JSON a browser's PublicKeyCredential.toJSON() gives; anything wrong
    with one (shape, challenge, origin, signature, counter, no user verification) raises
    InvalidValue with a reason that quotes nothing of it."""

    def registration_options(
        self, user: User, challenge: bytes, exclude: Sequence[bytes]
    ) -> dict[str, object]:
        """Options for navigator.credentials.create(): a discoverable credential, user
        verification required."""
        ...

    def verify_registration(self, credential: object, challenge: bytes) -> NewCredential: ...

    def authentication_options(self, challenge: bytes, allow: Sequence[bytes]) -> dict[str, object]:
        """Options for navigator.credentials.get(); no `allow`: any discoverable credential."""
        ...

    def credential_id(self, credential: object) -> bytes:
        """The id an assertion names (to find its passkey), before it is verified."""
        ...

    def verify_authentication(self, credential: object, challenge: bytes, passkey: Passkey) -> int:
        """Verify an assertion of this passkey, user verification required; its new
        signature counter (it must grow, unless the authenticator keeps none: 0)."""
        ...
