"""The one aiosqlite connection the embedded store's adapters share, and its failures.

The adapters take turns on it, so a transaction never picks up another task's statements.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from coatcheck.adapters.private_files import keep_private, private_file, private_folder
from coatcheck.domain.errors import StoreUnavailable

BUSY_TIMEOUT_MS = 5000
_COMPANIONS = ("-wal", "-shm", "-journal")  # files SQLite keeps beside the database

_Parameters = Sequence[Any] | Mapping[str, Any]


@contextmanager
def _unavailable_as_domain_error() -> Iterator[None]:
    try:
        yield
    except (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError):
        raise  # a broken rule or a bug, not an unusable file
    except (OSError, sqlite3.Error) as error:
        raise StoreUnavailable("embedded store unavailable") from error


class Database:
    def __init__(self, connection: aiosqlite.Connection) -> None:
        self.connection = connection
        self._turn = asyncio.Lock()

    @classmethod
    async def connect(cls, path: Path) -> Database:
        """Open the file, creating it and its folder as needed, both its owner's alone (SQLite
        gives its write-ahead log the file's mode); its schema is left as it is."""
        with _unavailable_as_domain_error():
            private_folder(path.parent)
            private_file(path)
            for companion in _COMPANIONS:
                keep_private(path.with_name(path.name + companion))
            connection = await aiosqlite.connect(path, isolation_level=None)
        try:
            with _unavailable_as_domain_error():
                await connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}")
                await connection.execute_fetchall("PRAGMA journal_mode = WAL")
                await connection.execute("PRAGMA synchronous = NORMAL")  # safe with WAL
        except BaseException:
            await connection.close()
            raise
        return cls(connection)

    async def close(self) -> None:
        await self.connection.close()

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._turn:
            with _unavailable_as_domain_error():
                yield self.connection

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self.turn() as connection:
            await connection.execute("BEGIN IMMEDIATE")  # take the write lock up front
            try:
                yield connection
                await connection.execute("COMMIT")
            except BaseException:
                await connection.rollback()  # a no-op if COMMIT went through
                raise

    async def fetch(self, sql: str, parameters: _Parameters = ()) -> list[Any]:
        async with self.turn() as connection:
            return list(await connection.execute_fetchall(sql, parameters))

    async def change(self, sql: str, parameters: _Parameters = ()) -> int:
        """Run one statement; return how many rows it changed."""
        async with self.turn() as connection:
            cursor = await connection.execute(sql, parameters)
            return cursor.rowcount

    async def changed_one(self, sql: str, parameters: _Parameters = ()) -> bool:
        """Run one statement: whether it changed exactly one row."""
        return await self.change(sql, parameters) == 1
