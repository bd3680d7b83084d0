"""Users in a dict."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from attrs import evolve

from coatcheck.domain.errors import EmailTaken
from coatcheck.domain.model import Email, User

if TYPE_CHECKING:
    from coatcheck.adapters.memory.account_tokens import (
        InMemoryAccountTokens,
        InMemoryKnownDevices,
    )
    from coatcheck.adapters.memory.factors import InMemoryFactors


class InMemoryUsers:
    """`belongings`: the stores of what a user owns (tokens, devices), emptied of a removed
    user's, as the other user stores delete them with the user."""

    def __init__(
        self, *belongings: InMemoryAccountTokens | InMemoryKnownDevices | InMemoryFactors
    ) -> None:
        self.by_id: dict[uuid.UUID, User] = {}
        self.pending: dict[uuid.UUID, User] = {}
        self._belongings = belongings

    async def add(self, user: User) -> None:
        if any(existing.email == user.email for existing in self.by_id.values()):
            raise EmailTaken()
        self.by_id[user.id] = user

    async def add_pending(self, user: User) -> None:
        if any(existing.email == user.email for existing in self.by_id.values()):
            raise EmailTaken()
        for other in [other for other in self.pending.values() if other.email == user.email]:
            del self.pending[other.id]
        self.pending[user.id] = user

    async def confirm(self, user_id: uuid.UUID) -> bool:
        user = self.pending.pop(user_id, None)
        if user is None:
            return False
        await self.add(user)
        return True

    async def get(self, user_id: uuid.UUID) -> User | None:
        return self.by_id.get(user_id)

    async def by_email(self, email: Email) -> User | None:
        return next((user for user in self.by_id.values() if user.email == email), None)

    async def set_password_hash(
        self, user_id: uuid.UUID, password_hash: str, replacing: str
    ) -> bool:
        user = self.by_id.get(user_id)
        if user is None or user.password_hash != replacing:
            return False
        self.by_id[user_id] = evolve(user, password_hash=password_hash)
        return True

    async def verify_email(self, user_id: uuid.UUID, email: Email) -> User | None:
        user = self.by_id.get(user_id)
        if user is None or user.email != email:
            return None
        self.by_id[user_id] = evolve(user, email_verified=True)
        return self.by_id[user_id]

    async def change_email(self, user_id: uuid.UUID, email: Email, replacing: Email) -> User | None:
        user = self.by_id.get(user_id)
        if user is None or user.email != replacing:
            return None
        if any(other.email == email for other in self.by_id.values() if other.id != user_id):
            raise EmailTaken()
        self.by_id[user_id] = evolve(user, email=email, email_verified=True)
        return self.by_id[user_id]

    async def remove(self, user_id: uuid.UUID) -> bool:
        for belonging in self._belongings:
            belonging.forget(user_id)
        return self.by_id.pop(user_id, None) is not None

    async def stored_emails(self) -> list[tuple[uuid.UUID, str]]:
        return [(user.id, user.email.value) for user in self.by_id.values()]

    async def ping(self) -> None:
        return None
