"""The outbox's entries in a dict, beside the in-memory one-time tokens (a resolved letter's
token is stored with it, at once)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from attrs import evolve

from coatcheck.adapters.memory.account_tokens import InMemoryAccountTokens
from coatcheck.adapters.memory.users import InMemoryUsers
from coatcheck.domain.ports import EntryState, OutboxEntry, ResolvedEntry


class InMemoryOutboxStore:
    def __init__(self, users: InMemoryUsers, tokens: InMemoryAccountTokens) -> None:
        self.by_id: dict[uuid.UUID, OutboxEntry] = {}
        self._users = users
        self._finished: dict[uuid.UUID, datetime] = {}
        self._leases: dict[uuid.UUID, datetime] = {}
        self._tokens = tokens

    async def add(self, entry: OutboxEntry) -> None:
        self.by_id[entry.id] = entry

    async def claim(self, now: datetime, lease: timedelta, limit: int) -> list[OutboxEntry]:
        due = sorted(
            (
                entry
                for entry in self.by_id.values()
                if entry.state is EntryState.PENDING
                and (entry.next_attempt_at is None or entry.next_attempt_at <= now)
                and self._leases.get(entry.id, now) <= now
            ),
            key=lambda entry: (entry.next_attempt_at or entry.created_at, entry.created_at),
        )[:limit]
        claimed = []
        for entry in due:
            entry = evolve(entry, claim=uuid.uuid4(), attempts=entry.attempts + 1)
            self.by_id[entry.id] = entry
            self._leases[entry.id] = now + lease
            claimed.append(entry)
        return claimed

    def _holds(self, claimed: OutboxEntry) -> OutboxEntry | None:
        entry = self.by_id.get(claimed.id)
        return entry if entry is not None and entry.claim == claimed.claim else None

    async def resolve(self, claimed: OutboxEntry, resolved: ResolvedEntry, now: datetime) -> bool:
        entry = self._holds(claimed)
        if entry is None:
            return False
        if resolved.token is not None:
            assert resolved.token_digest is not None
            if resolved.token.user_id not in self._users.by_id:
                return False
            await self._tokens.issue(resolved.token_digest, resolved.token, now)
        self.by_id[entry.id] = evolve(
            entry,
            kind=resolved.kind,
            recipient=resolved.recipient,
            content=resolved.content,
            expires_at=resolved.expires_at,
        )
        return True

    async def discard(self, claimed: OutboxEntry) -> None:
        if self._holds(claimed) is not None:
            self._forget(claimed.id)

    async def sent(self, claimed: OutboxEntry, now: datetime) -> None:
        self._finish(claimed, now, EntryState.SENT, None, erase=True)

    async def retry(self, claimed: OutboxEntry, at: datetime, error: str) -> None:
        entry = self._holds(claimed)
        if entry is not None:
            self.by_id[entry.id] = evolve(entry, next_attempt_at=at, last_error=error, claim=None)
            self._leases.pop(entry.id, None)

    async def fail(self, claimed: OutboxEntry, now: datetime, error: str, erase: bool) -> None:
        self._finish(claimed, now, EntryState.FAILED, error, erase)

    def _finish(
        self,
        claimed: OutboxEntry,
        now: datetime,
        state: EntryState,
        error: str | None,
        erase: bool,
    ) -> None:
        entry = self._holds(claimed)
        if entry is None:
            return
        content = None if erase else entry.content
        self.by_id[entry.id] = evolve(
            entry, state=state, content=content, last_error=error or entry.last_error, claim=None
        )
        self._leases.pop(entry.id, None)
        self._finished[entry.id] = now

    async def requeue(self, entry_id: uuid.UUID, now: datetime, retry_until: datetime) -> bool:
        entry = self.by_id.get(entry_id)
        if entry is None or entry.state is EntryState.SENT or entry.content is None:
            return False
        self.by_id[entry_id] = evolve(
            entry,
            state=EntryState.PENDING,
            next_attempt_at=now,
            retry_until=retry_until,
            attempts=0,
            claim=None,
        )
        self._leases.pop(entry_id, None)
        self._finished.pop(entry_id, None)
        return True

    async def drop(self, entry_id: uuid.UUID) -> bool:
        entry = self.by_id.get(entry_id)
        if entry is None or entry.state is EntryState.SENT:
            return False
        self._forget(entry_id)
        return True

    async def entries(self, limit: int) -> list[OutboxEntry]:
        kept = [e for e in self.by_id.values() if e.state is not EntryState.SENT]
        kept.sort(key=lambda entry: entry.created_at)
        return [evolve(entry, content=None) for entry in kept[:limit]]

    async def depth(self) -> tuple[int, datetime | None]:
        pending = [e.created_at for e in self.by_id.values() if e.state is EntryState.PENDING]
        return len(pending), min(pending, default=None)

    async def purge(self, now: datetime, before: datetime) -> int:
        for entry in list(self.by_id.values()):
            expired = entry.expires_at is not None and entry.expires_at <= now
            if not expired or entry.state is EntryState.SENT or entry.content is None:
                continue
            if entry.state is EntryState.FAILED:
                self.by_id[entry.id] = evolve(entry, content=None)
            elif self._leases.get(entry.id, now) <= now:
                self.by_id[entry.id] = evolve(
                    entry, state=EntryState.FAILED, content=None, last_error="expired", claim=None
                )
                self._finished[entry.id] = now
        old = [key for key, at in self._finished.items() if at < before]
        for key in old:
            self._forget(key)
        return len(old)

    def _forget(self, entry_id: uuid.UUID) -> None:
        self.by_id.pop(entry_id, None)
        self._leases.pop(entry_id, None)
        self._finished.pop(entry_id, None)
