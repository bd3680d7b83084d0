"""Users in PostgreSQL, on the pool (adapters/postgres/pool.py). The schema is in
adapters/postgres/migrations."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg

from coatcheck.adapters import deadline
from coatcheck.adapters.postgres.pool import Pooled

# re-exported: entrypoints/resources.py still imports it from here
from coatcheck.adapters.postgres.pool import create_pool as create_pool
from coatcheck.domain.errors import EmailTaken, Overloaded, StoreUnavailable
from coatcheck.domain.model import Email, Name, User

EMAIL_INDEX = "users_email_key"
REGISTRATION_TIME = "registration time"  # what ran out when a registration is overloaded


_COLUMNS = "id, email, name, password_hash, created_at, email_verified"


def _user(row: asyncpg.Record) -> User:
    return User(
        id=row["id"],
        email=Email.stored(row["email"]),
        name=Name(row["name"]),
        password_hash=row["password_hash"],
        created_at=row["created_at"],
        email_verified=row["email_verified"],
    )


@contextmanager
def _email_taken_on_conflict() -> Iterator[None]:
    try:
        yield
    except asyncpg.UniqueViolationError as error:
        if error.constraint_name != EMAIL_INDEX:
            raise
        raise EmailTaken() from None


class PostgresUsers(Pooled):
    async def add(self, user: User) -> None:
        await self._insert(user, pending=False)

    async def add_pending(self, user: User) -> None:
        await self._insert(user, pending=True)

    async def _insert(self, user: User, pending: bool) -> None:
        window = self._confirm_window() if pending else None
        if window is not None and window < self._timeouts.command / 4:
            # The request's time went on waiting (for a hashing thread, say): too little is
            # left for the insert, the session and the confirmation. A burst, not an outage.
            raise Overloaded(REGISTRATION_TIME)
        async with self._connection() as connection:
            with _email_taken_on_conflict():
                status = await connection.execute(
                    "INSERT INTO users"
                    " (id, email, name, password_hash, created_at, email_verified,"
                    "  registering_until)"
                    " VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN NOT $7 THEN NULL"
                    "  ELSE clock_timestamp() + make_interval(secs => $8::float8) END)"
                    " ON CONFLICT ((lower(email))) DO UPDATE SET id = excluded.id,"
                    " email = excluded.email, name = excluded.name,"
                    " password_hash = excluded.password_hash, created_at = excluded.created_at,"
                    " email_verified = excluded.email_verified,"
                    " registering_until = excluded.registering_until, updated_at = NULL"
                    " WHERE users.registering_until IS NOT NULL",
                    user.id,
                    user.email.value,
                    user.name.value,
                    user.password_hash,
                    user.created_at,
                    user.email_verified,
                    pending,
                    window,
                )
        if status != "INSERT 0 1":  # a real user holds the email
            raise EmailTaken()

    def _confirm_window(self) -> float:
        """How long after the insert a confirmation may still count: until the request's
        deadline, less a quarter of a command timeout for the answer's way back. `confirm`
        waits for its answer until that deadline, never less, so a confirmation that counts
        is never answered with a 503, and one that arrives later counts for nothing.

        (It used to end a command timeout after the insert, ~0.19 s: a burst that kept the
        confirmation waiting for a connection or the event loop that long answered 503
        store-unavailable on healthy stores.)"""
        return self._confirm_timeout() - self._timeouts.command / 4

    def _confirm_timeout(self) -> float:
        """How long a confirmation is waited for: the rest of the request's time (outside a
        request, a command timeout, which outlasts the window by as much as it is sent
        after the insert)."""
        left = deadline.remaining()
        return self._timeouts.command if left == math.inf else left

    async def confirm(self, user_id: uuid.UUID) -> bool:
        async with self._connection() as connection:
            in_time = await connection.fetchval(
                "WITH mine AS (SELECT registering_until > clock_timestamp() AS in_time"
                "  FROM users WHERE id = $1 AND registering_until IS NOT NULL FOR UPDATE),"
                " confirmed AS (UPDATE users SET registering_until = NULL"
                "  WHERE id = $1 AND (SELECT in_time FROM mine) RETURNING 1)"
                " SELECT in_time FROM mine",
                user_id,
                timeout=max(self._confirm_timeout(), 0.001),
            )
        if in_time is None:  # replaced by a later registration of the email
            return False
        if not in_time:  # the server answered, after the request's time: a burst held it up
            raise Overloaded(REGISTRATION_TIME)
        return True

    async def _one(self, sql: str, *arguments: object) -> User | None:
        async with self._connection() as connection:
            row = await connection.fetchrow(sql, *arguments)
        return None if row is None else _user(row)

    async def get(self, user_id: uuid.UUID) -> User | None:
        return await self._one(
            f"SELECT {_COLUMNS} FROM users"  # noqa: S608 -- constant columns
            " WHERE id = $1 AND registering_until IS NULL",
            user_id,
        )

    async def by_email(self, email: Email) -> User | None:
        return await self._one(
            f"SELECT {_COLUMNS} FROM users"  # noqa: S608 -- constant columns
            " WHERE lower(email) = lower($1) AND registering_until IS NULL",
            email.value,
        )

    async def set_password_hash(
        self, user_id: uuid.UUID, password_hash: str, replacing: str
    ) -> bool:
        return await self._changed_one(
            "UPDATE users SET password_hash = $2, updated_at = now()"
            " WHERE id = $1 AND password_hash = $3 AND registering_until IS NULL",
            user_id,
            password_hash,
            replacing,
        )

    async def verify_email(self, user_id: uuid.UUID, email: Email) -> User | None:
        return await self._one(
            "UPDATE users SET email_verified = true, updated_at = now()"  # noqa: S608
            " WHERE id = $1 AND email = $2 AND registering_until IS NULL"
            f" RETURNING {_COLUMNS}",
            user_id,
            email.value,
        )

    async def change_email(self, user_id: uuid.UUID, email: Email, replacing: Email) -> User | None:
        # Inside the connection's block: any other failure there is StoreUnavailable.
        async with self._connection() as connection:
            with _email_taken_on_conflict():
                row = await connection.fetchrow(
                    "UPDATE users SET email = $2, email_verified = true,"  # noqa: S608
                    " updated_at = now()"
                    " WHERE id = $1 AND email = $3 AND registering_until IS NULL"
                    f" RETURNING {_COLUMNS}",
                    user_id,
                    email.value,
                    replacing.value,
                )
        return None if row is None else _user(row)

    async def remove(self, user_id: uuid.UUID) -> bool:
        # Their tokens and known devices go with them (ON DELETE CASCADE).
        return await self._changed_one("DELETE FROM users WHERE id = $1", user_id)

    async def stored_emails(self) -> list[tuple[uuid.UUID, str]]:
        async with self._connection() as connection:
            rows = await connection.fetch(
                "SELECT id, email FROM users WHERE registering_until IS NULL ORDER BY created_at"
            )
        return [(row["id"], row["email"]) for row in rows]

    async def ping(self) -> None:
        """Answers, and accepts writes (not a standby, not read-only), and has the schema.
        A server that answers but fails this is watched as failing, with its own cause."""
        async with self._connection() as connection:
            state = await connection.fetchrow(
                "SELECT pg_is_in_recovery()"
                " OR current_setting('transaction_read_only') = 'on' AS read_only,"
                " to_regclass('users') IS NOT NULL AS migrated"
            )
            assert state is not None
            if state["read_only"]:
                self._watch.failed(asyncpg.ReadOnlySQLTransactionError("read-only"))
                raise StoreUnavailable("user store refuses writes")
            if not state["migrated"]:
                self._watch.failed(asyncpg.UndefinedTableError("users"))
                raise StoreUnavailable("user store not migrated")
