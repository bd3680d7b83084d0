"""One-time account tokens and known devices in dicts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from coatcheck.domain.tokens import TokenPurpose, TokenRecord


class InMemoryAccountTokens:
    def __init__(self) -> None:
        self.by_digest: dict[str, TokenRecord] = {}

    async def issue(self, digest: str, record: TokenRecord, now: datetime) -> None:
        self.by_digest = {
            other: kept
            for other, kept in self.by_digest.items()
            if kept.is_live(now)
            and (kept.user_id, kept.purpose) != (record.user_id, record.purpose)
        }
        self.by_digest[digest] = record

    async def take(self, digest: str, purpose: TokenPurpose) -> TokenRecord | None:
        record = self.by_digest.get(digest)
        if record is None or record.purpose is not purpose:
            return None
        return self.by_digest.pop(digest)

    async def discard(self, user_id: uuid.UUID, purposes: Sequence[TokenPurpose]) -> None:
        for digest, record in list(self.by_digest.items()):
            if record.user_id == user_id and record.purpose in purposes:
                del self.by_digest[digest]

    def forget(self, user_id: uuid.UUID) -> None:
        self.by_digest = {d: r for d, r in self.by_digest.items() if r.user_id != user_id}


class InMemoryKnownDevices:
    def __init__(self) -> None:
        self.by_user: dict[uuid.UUID, set[str]] = {}

    async def remember(self, user_id: uuid.UUID, fingerprint: str, now: datetime) -> bool:
        known = self.by_user.setdefault(user_id, set())
        new = fingerprint not in known and bool(known)
        known.add(fingerprint)
        return new

    def forget(self, user_id: uuid.UUID) -> None:
        self.by_user.pop(user_id, None)
