"""Sessions in a dict, with the per-user index."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from attrs import evolve

from coatcheck.domain.model import PublicUser, Session
from coatcheck.domain.ports import StoredSession


class InMemorySessions:
    """Counts its writes, so tests can prove the hot path does not write."""

    def __init__(self) -> None:
        self.by_digest: dict[str, Session] = {}
        self.writes = 0

    async def add(self, digest: str, session: Session) -> None:
        self.writes += 1
        self.by_digest[digest] = session

    async def get(self, digest: str) -> Session | None:
        return self.by_digest.get(digest)

    async def replace(self, digest: str, session: Session) -> bool:
        stored = self.by_digest.get(digest)
        if stored is None:
            return False
        self.writes += 1
        self.by_digest[digest] = evolve(session, user=stored.user)
        return True

    async def remove(self, digest: str) -> None:
        self.writes += 1
        self.by_digest.pop(digest, None)

    async def of_user(self, user_id: uuid.UUID, now: datetime) -> Sequence[StoredSession]:
        for digest, session in list(self.by_digest.items()):
            if session.user_id == user_id and not session.is_live(now):
                del self.by_digest[digest]
        return [
            StoredSession(digest, session)
            for digest, session in self.by_digest.items()
            if session.user_id == user_id
        ]

    async def remove_of_user(self, user_id: uuid.UUID, keep: str | None = None) -> int:
        doomed = [
            digest
            for digest, session in self.by_digest.items()
            if session.user_id == user_id and digest != keep
        ]
        for digest in doomed:
            del self.by_digest[digest]
        self.writes += 1
        return len(doomed)

    async def update_user(self, user: PublicUser) -> int:
        rewritten = 0
        for digest, session in self.by_digest.items():
            if session.user_id == user.id and session.user is not None:
                self.by_digest[digest] = evolve(session, user=user)
                rewritten += 1
        self.writes += 1
        return rewritten

    async def ping(self) -> None:
        return None
