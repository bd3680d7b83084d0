"""Counting what a request asks of the stores, at the stores: Redis commands seen by MONITOR
on the test's key prefix, PostgreSQL queries seen by a query logger on every connection."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import redis.asyncio as redis

_NAME = re.compile(r'\] "(\w+)"')


class RedisMonitor:
    """Commands that touch the prefix, as Redis itself received them: MONITOR's lines as
    they are (redis-py's parsing of them splits a binary key ending in a backslash wrongly)."""

    def __init__(self) -> None:
        self.commands: list[str] = []

    def named(self, name: str) -> list[str]:
        return [line for line in self.commands if _command(line) == name]


def _command(line: str) -> str:
    found = _NAME.search(line)
    return found.group(1).upper() if found else ""


@contextlib.asynccontextmanager
async def monitor_redis(url: str, prefix: str) -> AsyncIterator[RedisMonitor]:
    """Every command on the prefix between entering and leaving, as Redis received them.
    On leaving, a marker command is sent and waited for: MONITOR reports commands in the
    order Redis ran them, so once the marker is seen, so is everything before it."""
    seen = RedisMonitor()
    marker = f"{prefix}monitor-marker"
    client = redis.Redis.from_url(url)
    async with client.monitor() as monitor:
        ready, done = asyncio.Event(), asyncio.Event()

        async def listen() -> None:
            ready.set()
            while True:
                raw = await monitor.connection.read_response()
                line = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
                if marker in line:
                    done.set()
                elif prefix in line:
                    seen.commands.append(line)

        task = asyncio.create_task(listen())
        await ready.wait()
        await client.ping()  # MONITOR is in place before the caller's first command
        try:
            yield seen
            await client.get(marker)
            async with asyncio.timeout(10):
                await done.wait()
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    await client.aclose()


class QueryCounter:
    def __init__(self) -> None:
        self.queries: list[str] = []

    def __call__(self, record: Any) -> None:
        self.queries.append(record.query)


async def counting_pool(dsn: str, counter: QueryCounter) -> asyncpg.Pool:
    """A pool whose every connection reports each query it runs to the counter."""

    async def init(connection: asyncpg.Connection) -> None:
        connection.add_query_logger(counter)

    return await asyncpg.create_pool(dsn, min_size=1, max_size=4, init=init)
