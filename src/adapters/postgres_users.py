"""Users in PostgreSQL through an asyncpg pool. The schema is in adapters/migrations."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import asyncpg

from domain.errors import EmailTaken, StoreUnavailable
from domain.model import Email, Name, User

CONNECT_TIMEOUT = 5.0
COMMAND_TIMEOUT = 10.0
ACQUIRE_TIMEOUT = 5.0
EMAIL_INDEX = "users_email_key"

_UNREACHABLE = (
    OSError,  # refused, reset, DNS; TimeoutError too: connect, acquire and command timeouts
    asyncpg.InterfaceError,  # connection or pool closed under us
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08
    asyncpg.InvalidAuthorizationSpecificationError,  # class 28: role or password refused
    asyncpg.InvalidCatalogNameError,  # the database does not exist
    asyncpg.InsufficientResourcesError,  # class 53: too many connections, disk full
    asyncpg.OperatorInterventionError,  # class 57: starting up, shutting down, cancelled
    asyncpg.ReadOnlySQLTransactionError,  # a standby after a fail-over
)


@contextmanager
def unavailable_as_domain_error() -> Iterator[None]:
    """Any failure to reach PostgreSQL becomes StoreUnavailable, whose message names no address."""
    try:
        yield
    except _UNREACHABLE as error:
        raise StoreUnavailable("user store unavailable") from error


async def create_pool(
    dsn: str,
    *,
    min_size: int = 1,
    max_size: int = 10,
    connect_timeout: float = CONNECT_TIMEOUT,
    command_timeout: float = COMMAND_TIMEOUT,
) -> asyncpg.Pool[asyncpg.Record]:
    with unavailable_as_domain_error():
        return await asyncpg.create_pool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            timeout=connect_timeout,
            command_timeout=command_timeout,
            reset=_keep_as_is,
        )


async def _keep_as_is(connection: asyncpg.Connection[asyncpg.Record]) -> None:
    """coatcheck leaves no state on a connection (no session settings, locks, cursors or
    LISTEN), so the default reset, one more round trip at every release, is not needed."""


_COLUMNS = "id, email, name, password_hash, created_at, email_verified"


def _user(row: asyncpg.Record) -> User:
    return User(
        id=row["id"],
        email=Email(row["email"]),
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


class Pooled:
    """An adapter on the pool: each call borrows a connection, failures as StoreUnavailable."""

    def __init__(
        self, pool: asyncpg.Pool[asyncpg.Record], acquire_timeout: float = ACQUIRE_TIMEOUT
    ) -> None:
        self._pool = pool
        self._acquire_timeout = acquire_timeout

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.pool.PoolConnectionProxy[asyncpg.Record]]:
        with unavailable_as_domain_error():
            async with self._pool.acquire(timeout=self._acquire_timeout) as connection:
                yield connection


class PostgresUsers(Pooled):
    async def add(self, user: User) -> None:
        async with self._connection() as connection:
            with _email_taken_on_conflict():
                await connection.execute(
                    f"INSERT INTO users ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)",  # noqa: S608
                    user.id,
                    user.email.value,
                    user.name.value,
                    user.password_hash,
                    user.created_at,
                    user.email_verified,
                )

    async def _one(self, sql: str, *arguments: object) -> User | None:
        async with self._connection() as connection:
            row = await connection.fetchrow(sql, *arguments)
        return None if row is None else _user(row)

    async def get(self, user_id: uuid.UUID) -> User | None:
        return await self._one(
            f"SELECT {_COLUMNS} FROM users WHERE id = $1",  # noqa: S608 -- constant columns
            user_id,
        )

    async def by_email(self, email: Email) -> User | None:
        return await self._one(
            f"SELECT {_COLUMNS} FROM users WHERE lower(email) = lower($1)",  # noqa: S608
            email.value,
        )

    async def set_password_hash(
        self, user_id: uuid.UUID, password_hash: str, replacing: str
    ) -> bool:
        async with self._connection() as connection:
            status = await connection.execute(
                "UPDATE users SET password_hash = $2, updated_at = now()"
                " WHERE id = $1 AND password_hash = $3",
                user_id,
                password_hash,
                replacing,
            )
        return bool(status == "UPDATE 1")

    async def verify_email(self, user_id: uuid.UUID, email: Email) -> User | None:
        return await self._one(
            "UPDATE users SET email_verified = true, updated_at = now()"  # noqa: S608
            f" WHERE id = $1 AND email = $2 RETURNING {_COLUMNS}",
            user_id,
            email.value,
        )

    async def change_email(self, user_id: uuid.UUID, email: Email, replacing: Email) -> User | None:
        with _email_taken_on_conflict():
            return await self._one(
                "UPDATE users SET email = $2, email_verified = true, updated_at = now()"  # noqa: S608
                f" WHERE id = $1 AND email = $3 RETURNING {_COLUMNS}",
                user_id,
                email.value,
                replacing.value,
            )

    async def remove(self, user_id: uuid.UUID) -> bool:
        # Their tokens and known devices go with them (ON DELETE CASCADE).
        async with self._connection() as connection:
            status = await connection.execute("DELETE FROM users WHERE id = $1", user_id)
        return bool(status == "DELETE 1")

    async def ping(self) -> None:
        async with self._connection() as connection:
            await connection.fetchval("SELECT 1")
