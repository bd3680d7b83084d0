"""Counting what a request asks of the stores, at the stores: Redis commands seen by MONITOR
on the test's key prefix, PostgreSQL queries seen by a query logger on every connection."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import redis.asyncio as redis


class RedisMonitor:
    """Commands that touch the prefix, as Redis itself received them."""

    def __init__(self) -> None:
        self.commands: list[str] = []

    def named(self, name: str) -> list[str]:
        return [command for command in self.commands if command.split()[0].upper() == name]


@contextlib.asynccontextmanager
async def monitor_redis(url: str, prefix: str) -> AsyncIterator[RedisMonitor]:
    seen = RedisMonitor()
    client = redis.Redis.from_url(url)
    async with client.monitor() as monitor:
        ready = asyncio.Event()

        async def listen() -> None:
            ready.set()
            async for event in monitor.listen():
                if prefix in event["command"]:
                    seen.commands.append(event["command"])

        task = asyncio.create_task(listen())
        await ready.wait()
        await client.ping()  # MONITOR is in place before the caller's first command
        try:
            yield seen
            await asyncio.sleep(0.2)  # let the last events arrive
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
