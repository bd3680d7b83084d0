"""Second factors and pending steps in dicts."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime

from attrs import evolve

from coatcheck.domain.factors import FactorSummary, Passkey, PasskeyName, PendingStep, TotpSetup


class InMemoryFactors:
    """`owners`: the users by id (InMemoryUsers.by_id), to refuse factors of a user that is
    gone, as a foreign key does; None: every user exists."""

    def __init__(self, owners: Mapping[uuid.UUID, object] | None = None) -> None:
        self.owners = owners
        self.totps: dict[uuid.UUID, TotpSetup] = {}
        self.recovery: dict[uuid.UUID, set[str]] = {}
        self.by_credential: dict[bytes, Passkey] = {}

    def _exists(self, user_id: uuid.UUID) -> bool:
        return self.owners is None or user_id in self.owners

    async def summary(self, user_id: uuid.UUID) -> FactorSummary:
        totp = self.totps.get(user_id)
        passkeys = sum(1 for key in self.by_credential.values() if key.user_id == user_id)
        codes = len(self.recovery.get(user_id, ()))
        return FactorSummary(totp is not None and totp.active, passkeys, codes)

    async def totp(self, user_id: uuid.UUID) -> TotpSetup | None:
        return self.totps.get(user_id)

    async def start_totp(self, user_id: uuid.UUID, sealed_secret: bytes) -> bool:
        current = self.totps.get(user_id)
        if (current is not None and current.active) or not self._exists(user_id):
            return False
        self.totps[user_id] = TotpSetup(user_id, sealed_secret)
        return True

    async def activate_totp(self, user_id: uuid.UUID, sealed_secret: bytes, step: int) -> bool:
        current = self.totps.get(user_id)
        if current is None or current.active or current.sealed_secret != sealed_secret:
            return False
        self.totps[user_id] = evolve(current, active=True, last_step=step)
        return True

    async def use_totp_step(self, user_id: uuid.UUID, step: int) -> bool:
        current = self.totps.get(user_id)
        if current is None or not current.active or current.last_step >= step:
            return False
        self.totps[user_id] = evolve(current, last_step=step)
        return True

    async def remove_totp(self, user_id: uuid.UUID) -> bool:
        return self.totps.pop(user_id, None) is not None

    async def set_recovery_codes(self, user_id: uuid.UUID, digests: Sequence[str]) -> None:
        if self._exists(user_id):
            self.recovery[user_id] = set(digests)

    async def use_recovery_code(self, user_id: uuid.UUID, digest: str) -> bool:
        codes = self.recovery.get(user_id, set())
        if digest not in codes:
            return False
        codes.discard(digest)
        return True

    async def add_passkey(self, passkey: Passkey) -> bool:
        if passkey.credential_id in self.by_credential or not self._exists(passkey.user_id):
            return False
        self.by_credential[passkey.credential_id] = passkey
        return True

    async def passkeys(self, user_id: uuid.UUID) -> Sequence[Passkey]:
        mine = [key for key in self.by_credential.values() if key.user_id == user_id]
        return sorted(mine, key=lambda key: key.created_at)

    async def passkey(self, credential_id: bytes) -> Passkey | None:
        return self.by_credential.get(credential_id)

    async def rename_passkey(
        self, user_id: uuid.UUID, credential_id: bytes, name: PasskeyName
    ) -> bool:
        key = self.by_credential.get(credential_id)
        if key is None or key.user_id != user_id:
            return False
        self.by_credential[credential_id] = evolve(key, name=name)
        return True

    async def remove_passkey(self, user_id: uuid.UUID, credential_id: bytes) -> bool:
        key = self.by_credential.get(credential_id)
        if key is None or key.user_id != user_id:
            return False
        del self.by_credential[credential_id]
        return True

    async def use_passkey(
        self, credential_id: bytes, replacing_count: int, sign_count: int, now: datetime
    ) -> bool:
        key = self.by_credential.get(credential_id)
        if key is None or key.sign_count != replacing_count:
            return False
        self.by_credential[credential_id] = evolve(key, sign_count=sign_count, last_used_at=now)
        return True

    async def remove_all(self, user_id: uuid.UUID) -> FactorSummary:
        had = await self.summary(user_id)
        self.forget(user_id)
        return had

    def forget(self, user_id: uuid.UUID) -> None:
        self.totps.pop(user_id, None)
        self.recovery.pop(user_id, None)
        for credential_id, key in list(self.by_credential.items()):
            if key.user_id == user_id:
                del self.by_credential[credential_id]


class InMemoryPendingSteps:
    def __init__(self) -> None:
        self.by_key: dict[str, PendingStep] = {}

    async def put(self, key: str, step: PendingStep, now: datetime) -> None:
        self.by_key = {other: kept for other, kept in self.by_key.items() if kept.is_live(now)}
        self.by_key[key] = step

    async def get(self, key: str) -> PendingStep | None:
        return self.by_key.get(key)

    async def take(self, key: str) -> PendingStep | None:
        return self.by_key.pop(key, None)
