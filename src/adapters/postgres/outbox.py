"""The outbox's entries in PostgreSQL, beside the users and tokens (a resolved letter and its
token are written in one transaction). Claims take due rows with FOR UPDATE SKIP LOCKED, so
workers on any number of processes and instances never take one row twice, and lease them.
The schema is in migrations/0006_outbox.sql."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import asyncpg

from coatcheck.adapters.postgres.account_tokens import store_token
from coatcheck.adapters.postgres.pool import Pooled, row_count
from coatcheck.domain.ports import EntryState, OutboxEntry, ResolvedEntry

_COLUMNS = (
    "id, kind, recipient, content, request_id, state, created_at, retry_until, expires_at,"
    " next_attempt_at, attempts, last_error, claim"
)
_FREE = "(lease_until IS NULL OR lease_until <= $1)"  # no one holds its lease at $1


def _entry(row: asyncpg.Record) -> OutboxEntry:
    return OutboxEntry(
        id=row["id"],
        kind=row["kind"],
        recipient=row["recipient"],
        content=row["content"],
        request_id=row["request_id"],
        created_at=row["created_at"],
        retry_until=row["retry_until"],
        expires_at=row["expires_at"],
        state=EntryState(row["state"]),
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        last_error=row["last_error"],
        claim=row["claim"],
    )


class PostgresOutboxStore(Pooled):
    async def add(self, entry: OutboxEntry) -> None:
        async with self._connection() as connection:
            await connection.execute(
                "INSERT INTO outbox (id, kind, recipient, content, request_id, state, created_at,"
                " retry_until, expires_at, next_attempt_at)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                entry.id,
                entry.kind,
                entry.recipient,
                entry.content,
                entry.request_id,
                entry.state.value,
                entry.created_at,
                entry.retry_until,
                entry.expires_at,
                entry.next_attempt_at or entry.created_at,
            )

    async def claim(self, now: datetime, lease: timedelta, limit: int) -> list[OutboxEntry]:
        async with self._connection() as connection:
            rows = await connection.fetch(
                "WITH due AS (SELECT id FROM outbox"  # noqa: S608 -- constant text
                f" WHERE state = 'pending' AND next_attempt_at <= $1 AND {_FREE}"
                " ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED)"
                " UPDATE outbox SET claim = $4, lease_until = $2, attempts = attempts + 1"
                f" FROM due WHERE outbox.id = due.id RETURNING {_prefixed('outbox.')}",
                now,
                now + lease,
                limit,
                uuid.uuid4(),
            )
        return sorted(map(_entry, rows), key=lambda entry: entry.next_attempt_at or now)

    async def resolve(self, claimed: OutboxEntry, resolved: ResolvedEntry, now: datetime) -> bool:
        async with self._connection() as connection:
            try:
                async with connection.transaction():
                    status = await connection.execute(
                        "UPDATE outbox SET kind = $3, recipient = $4, content = $5,"
                        " expires_at = $6 WHERE id = $1 AND claim = $2",
                        claimed.id,
                        claimed.claim,
                        resolved.kind,
                        resolved.recipient,
                        resolved.content,
                        resolved.expires_at,
                    )
                    if status != "UPDATE 1":
                        return False
                    if resolved.token is not None:
                        assert resolved.token_digest is not None
                        await store_token(connection, resolved.token_digest, resolved.token, now)
            except asyncpg.ForeignKeyViolationError:
                return False  # the user was deleted meanwhile: nothing is written
        return True

    async def discard(self, claimed: OutboxEntry) -> None:
        await self._change(
            "DELETE FROM outbox WHERE id = $1 AND claim = $2", claimed.id, claimed.claim
        )

    async def sent(self, claimed: OutboxEntry, now: datetime) -> None:
        await self._change(
            "UPDATE outbox SET state = 'sent', content = NULL, claim = NULL, lease_until = NULL,"
            " finished_at = $3 WHERE id = $1 AND claim = $2",
            claimed.id,
            claimed.claim,
            now,
        )

    async def retry(self, claimed: OutboxEntry, at: datetime, error: str) -> None:
        await self._change(
            "UPDATE outbox SET next_attempt_at = $3, last_error = $4, claim = NULL,"
            " lease_until = NULL WHERE id = $1 AND claim = $2",
            claimed.id,
            claimed.claim,
            at,
            error,
        )

    async def fail(self, claimed: OutboxEntry, now: datetime, error: str, erase: bool) -> None:
        await self._change(
            "UPDATE outbox SET state = 'failed', last_error = $4, finished_at = $3,"
            " content = CASE WHEN $5 THEN NULL ELSE content END, claim = NULL,"
            " lease_until = NULL WHERE id = $1 AND claim = $2",
            claimed.id,
            claimed.claim,
            now,
            error,
            erase,
        )

    async def requeue(self, entry_id: uuid.UUID, now: datetime, retry_until: datetime) -> bool:
        return await self._changed_one(
            "UPDATE outbox SET state = 'pending', next_attempt_at = $1, retry_until = $3,"  # noqa: S608 -- constant text
            " attempts = 0, claim = NULL, lease_until = NULL, finished_at = NULL"
            f" WHERE id = $2 AND state <> 'sent' AND content IS NOT NULL AND {_FREE}",
            now,
            entry_id,
            retry_until,
        )

    async def drop(self, entry_id: uuid.UUID) -> bool:
        return await self._changed_one(
            "DELETE FROM outbox WHERE id = $1 AND state <> 'sent'", entry_id
        )

    async def entries(self, limit: int) -> list[OutboxEntry]:
        async with self._connection() as connection:
            rows = await connection.fetch(
                f"SELECT {_COLUMNS.replace('content', 'NULL::bytea AS content')} FROM outbox"  # noqa: S608
                " WHERE state <> 'sent' ORDER BY created_at LIMIT $1",
                limit,
            )
        return [_entry(row) for row in rows]

    async def depth(self) -> tuple[int, datetime | None]:
        async with self._connection() as connection:
            row = await connection.fetchrow(
                "SELECT count(*) AS depth, min(created_at) AS oldest FROM outbox"
                " WHERE state = 'pending'"
            )
        assert row is not None
        return int(row["depth"]), row["oldest"]

    async def purge(self, now: datetime, before: datetime) -> int:
        async with self._connection() as connection:
            await connection.execute(
                "UPDATE outbox SET content = NULL, state = 'failed',"  # noqa: S608 -- constant text
                " last_error = CASE WHEN state = 'pending' THEN 'expired' ELSE last_error END,"
                " finished_at = CASE WHEN state = 'pending' THEN $1 ELSE finished_at END"
                f" WHERE state <> 'sent' AND content IS NOT NULL AND expires_at <= $1 AND {_FREE}",
                now,
            )
            status = await connection.execute(
                "DELETE FROM outbox WHERE state <> 'pending' AND finished_at < $1", before
            )
        return row_count(status)


def _prefixed(prefix: str) -> str:
    return ", ".join(prefix + column.strip() for column in _COLUMNS.split(","))
