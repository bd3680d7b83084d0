"""The asyncpg pool the PostgreSQL stores share, and what they are built on (Pooled).

Every failure, whatever the driver raises, is StoreUnavailable (watched), and the connection
it happened on is closed rather than handed back; a wait for a pooled connection that runs
out while the server answers is Overloaded. The server is told the command timeout as its
`statement_timeout`, once per connection as it opens.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import TypeAlias

import asyncpg

from coatcheck.adapters import deadline
from coatcheck.adapters.deadline import StoreTimeouts
from coatcheck.adapters.store_watch import EVENT_LOOP, StoreWatch
from coatcheck.domain.errors import CoatcheckError, Overloaded, StoreUnavailable

DEFAULT_TIMEOUTS = StoreTimeouts.within(1.0)
CONNECT_TIMEOUT = 5.0  # a connection of its own (migrations, tools), not a request's

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
    min_size: int = 0,
    max_size: int = 10,
    timeouts: StoreTimeouts = DEFAULT_TIMEOUTS,
) -> asyncpg.Pool[asyncpg.Record]:
    """A pool that opens its connections as they are needed: it is made whether or not the
    server answers now."""
    with unavailable_as_domain_error():
        return await asyncpg.create_pool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            timeout=timeouts.connect,
            command_timeout=timeouts.command,
            server_settings={"statement_timeout": str(max(1, int(timeouts.command * 1000)))},
            reset=_keep_as_is,
        )


async def _keep_as_is(connection: asyncpg.Connection[asyncpg.Record]) -> None:
    """coatcheck leaves no state on a connection (no session settings, locks, cursors or
    LISTEN), so the default reset, one more round trip at every release, is not needed."""


Connection: TypeAlias = "asyncpg.pool.PoolConnectionProxy[asyncpg.Record]"


class Pooled:
    """An adapter on the pool: each call borrows a connection, failures as StoreUnavailable."""

    def __init__(
        self,
        pool: asyncpg.Pool[asyncpg.Record],
        timeouts: StoreTimeouts = DEFAULT_TIMEOUTS,
        watch: StoreWatch | None = None,
    ) -> None:
        self._pool = pool
        self._timeouts = timeouts
        self._watch = watch or StoreWatch("users", "-")

    def _saturated(self) -> bool:
        return (
            self._pool.get_idle_size() == 0 and self._pool.get_size() >= self._pool.get_max_size()
        )

    def _pool_wait(self) -> float:
        """A burst waits for a connection up to half of what is left of the request's time
        (a registration has seconds left after hashing), and never less than the pool wait
        the store timeouts give."""
        left = deadline.remaining()
        wait = self._timeouts.pool_wait
        return wait if left == math.inf else max(wait, left / 2)

    async def _acquire(self) -> Connection:
        answers = self._watch.answers
        try:
            return await self._pool.acquire(timeout=self._pool_wait())
        except TimeoutError as error:
            # The server answered others meanwhile (or holds every connection busy): a
            # burst waiting for connections, or for new ones to open, not an outage.
            if not self._watch.down and (self._watch.answers != answers or self._saturated()):
                raise Overloaded("user store connections") from error
            if self._watch.overloaded(error):
                raise Overloaded(EVENT_LOOP) from error
            self._watch.failed(error)
            raise StoreUnavailable("user store unavailable") from error
        except Exception as error:
            self._watch.failed(error)
            raise StoreUnavailable("user store unavailable") from error

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[Connection]:
        started = time.perf_counter()
        connection = await self._acquire()
        try:
            yield connection
        except CoatcheckError:
            raise
        except BaseException as error:  # a deadline's cancellation too: the command may be mid-way
            if not isinstance(error, asyncpg.PostgresError) or isinstance(error, _UNREACHABLE):
                with contextlib.suppress(asyncpg.InterfaceError):  # closed, and handed back
                    connection.terminate()
            if not isinstance(error, Exception):
                raise
            if self._watch.overloaded(error):
                raise Overloaded(EVENT_LOOP) from error
            self._watch.failed(error)
            raise StoreUnavailable("user store unavailable") from error
        finally:
            await self._pool.release(connection)
        self._watch.answered(time.perf_counter() - started)

    async def _change(self, sql: str, *arguments: object) -> str:
        """Runs one statement on a connection of its own: the status it answers."""
        async with self._connection() as connection:
            return str(await connection.execute(sql, *arguments))

    async def _changed_one(self, sql: str, *arguments: object) -> bool:
        """Runs one statement: whether it inserted, updated or deleted exactly one row."""
        return row_count(await self._change(sql, *arguments)) == 1


def row_count(status: str) -> int:
    """The rows a statement's status counts ("UPDATE 1", "INSERT 0 1")."""
    return int(status.split()[-1])
