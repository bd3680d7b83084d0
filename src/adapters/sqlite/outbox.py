"""The outbox's entries in the embedded store, beside the users and tokens (a resolved letter
and its token are written in one transaction). A claim is one write transaction (SQLite has a
single writer), so processes sharing the file never take one entry twice."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from coatcheck.adapters.sqlite.account_tokens import store_token
from coatcheck.adapters.sqlite.connection import Database
from coatcheck.adapters.timestamps import iso_utc
from coatcheck.domain.ports import EntryState, OutboxEntry, ResolvedEntry

_COLUMNS = (
    "id, kind, recipient, content, request_id, state, created_at, retry_until, expires_at,"
    " next_attempt_at, attempts, last_error, claim"
)
_FREE = "(lease_until IS NULL OR lease_until <= :now)"


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else iso_utc(moment)


def _entry(row: Any) -> OutboxEntry:
    (id_, kind, recipient, content, request_id, state, created, retry_until, expires, next_at,
     attempts, last_error, claim) = row  # fmt: skip
    return OutboxEntry(
        id=uuid.UUID(id_),
        kind=kind,
        recipient=recipient,
        content=None if content is None else bytes(content),
        request_id=request_id,
        created_at=datetime.fromisoformat(created),
        retry_until=datetime.fromisoformat(retry_until),
        expires_at=_time(expires),
        state=EntryState(state),
        attempts=attempts,
        next_attempt_at=_time(next_at),
        last_error=last_error,
        claim=None if claim is None else uuid.UUID(claim),
    )


class SqliteOutboxStore:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def add(self, entry: OutboxEntry) -> None:
        await self._database.change(
            "INSERT INTO outbox (id, kind, recipient, content, request_id, state, created_at,"
            " retry_until, expires_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                str(entry.id),
                entry.kind,
                entry.recipient,
                entry.content,
                entry.request_id,
                entry.state.value,
                iso_utc(entry.created_at),
                iso_utc(entry.retry_until),
                _iso(entry.expires_at),
                iso_utc(entry.next_attempt_at or entry.created_at),
            ),
        )

    async def claim(self, now: datetime, lease: timedelta, limit: int) -> list[OutboxEntry]:
        due = await self._database.fetch(
            f"SELECT 1 FROM outbox WHERE state = 'pending' AND next_attempt_at <= :now AND {_FREE}"  # noqa: S608 -- constant text
            " LIMIT 1",
            {"now": iso_utc(now)},
        )
        if not due:  # an idle poll takes no write lock
            return []
        claim = str(uuid.uuid4())
        async with self._database.transaction() as connection:
            await connection.execute(
                "UPDATE outbox SET claim = :claim, lease_until = :until, attempts = attempts + 1"  # noqa: S608 -- constant text
                " WHERE id IN (SELECT id FROM outbox WHERE state = 'pending'"
                f" AND next_attempt_at <= :now AND {_FREE}"
                " ORDER BY next_attempt_at LIMIT :limit)",
                {
                    "claim": claim,
                    "until": iso_utc(now + lease),
                    "now": iso_utc(now),
                    "limit": limit,
                },
            )
            rows = await connection.execute_fetchall(
                f"SELECT {_COLUMNS} FROM outbox WHERE claim = ?"  # noqa: S608 -- constant
                " ORDER BY next_attempt_at",
                (claim,),
            )
        return [_entry(row) for row in rows]

    async def resolve(self, claimed: OutboxEntry, resolved: ResolvedEntry, now: datetime) -> bool:
        record = resolved.token
        async with self._database.transaction() as connection:
            if record is not None:
                [(exists,)] = await connection.execute_fetchall(
                    "SELECT count(*) FROM users WHERE id = ? AND pending = 0",
                    (str(record.user_id),),
                )
                if not exists:
                    return False  # the user was deleted meanwhile: nothing is written
            cursor = await connection.execute(
                "UPDATE outbox SET kind = ?, recipient = ?, content = ?, expires_at = ?"
                " WHERE id = ? AND claim = ?",
                (
                    resolved.kind,
                    resolved.recipient,
                    resolved.content,
                    _iso(resolved.expires_at),
                    str(claimed.id),
                    str(claimed.claim),
                ),
            )
            if cursor.rowcount != 1:
                return False
            if record is not None:
                assert resolved.token_digest is not None
                await store_token(connection, resolved.token_digest, record, now)
        return True

    async def discard(self, claimed: OutboxEntry) -> None:
        await self._database.change(
            "DELETE FROM outbox WHERE id = ? AND claim = ?", (str(claimed.id), str(claimed.claim))
        )

    async def sent(self, claimed: OutboxEntry, now: datetime) -> None:
        await self._database.change(
            "UPDATE outbox SET state = 'sent', content = NULL, claim = NULL, lease_until = NULL,"
            " finished_at = ? WHERE id = ? AND claim = ?",
            (iso_utc(now), str(claimed.id), str(claimed.claim)),
        )

    async def retry(self, claimed: OutboxEntry, at: datetime, error: str) -> None:
        await self._database.change(
            "UPDATE outbox SET next_attempt_at = ?, last_error = ?, claim = NULL,"
            " lease_until = NULL WHERE id = ? AND claim = ?",
            (iso_utc(at), error, str(claimed.id), str(claimed.claim)),
        )

    async def fail(self, claimed: OutboxEntry, now: datetime, error: str, erase: bool) -> None:
        await self._database.change(
            "UPDATE outbox SET state = 'failed', last_error = ?, finished_at = ?,"
            " content = CASE WHEN ? THEN NULL ELSE content END, claim = NULL,"
            " lease_until = NULL WHERE id = ? AND claim = ?",
            (error, iso_utc(now), erase, str(claimed.id), str(claimed.claim)),
        )

    async def requeue(self, entry_id: uuid.UUID, now: datetime, retry_until: datetime) -> bool:
        return await self._database.changed_one(
            "UPDATE outbox SET state = 'pending', next_attempt_at = :now, retry_until = :until,"  # noqa: S608 -- constant text
            " attempts = 0, claim = NULL, lease_until = NULL, finished_at = NULL"
            f" WHERE id = :id AND state <> 'sent' AND content IS NOT NULL AND {_FREE}",
            {"now": iso_utc(now), "until": iso_utc(retry_until), "id": str(entry_id)},
        )

    async def drop(self, entry_id: uuid.UUID) -> bool:
        return await self._database.changed_one(
            "DELETE FROM outbox WHERE id = ? AND state <> 'sent'", (str(entry_id),)
        )

    async def entries(self, limit: int) -> list[OutboxEntry]:
        rows = await self._database.fetch(
            f"SELECT {_COLUMNS.replace('content', 'NULL')} FROM outbox"  # noqa: S608 -- constant
            " WHERE state <> 'sent' ORDER BY created_at LIMIT ?",
            (limit,),
        )
        return [_entry(row) for row in rows]

    async def depth(self) -> tuple[int, datetime | None]:
        [(depth, oldest)] = await self._database.fetch(
            "SELECT count(*), min(created_at) FROM outbox WHERE state = 'pending'"
        )
        return int(depth), _time(oldest)

    async def purge(self, now: datetime, before: datetime) -> int:
        await self._database.change(
            "UPDATE outbox SET content = NULL, state = 'failed',"  # noqa: S608 -- constant text
            " last_error = CASE WHEN state = 'pending' THEN 'expired' ELSE last_error END,"
            " finished_at = CASE WHEN state = 'pending' THEN :now ELSE finished_at END"
            " WHERE state <> 'sent' AND content IS NOT NULL AND expires_at <= :now"
            f" AND {_FREE}",
            {"now": iso_utc(now)},
        )
        return await self._database.change(
            "DELETE FROM outbox WHERE state <> 'pending' AND finished_at < ?", (iso_utc(before),)
        )
