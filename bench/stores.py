"""The stores a run writes to, and only there: a scratch PostgreSQL database it creates and
drops, and Redis keys under prefixes of its own that it deletes (SCAN + UNLINK on each
prefix; never FLUSHDB). Both must be on this machine."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import redis

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def check_local(url: str) -> str:
    if urlsplit(url).hostname not in LOCAL_HOSTS:
        raise SystemExit(f"bench: {urlsplit(url).scheme} must be on this machine (127.0.0.1)")
    return url


def run_tag() -> str:
    return secrets.token_hex(6)


@contextmanager
def scratch_database(admin_url: str, tag: str) -> Iterator[str]:
    """A new empty database; its URL; dropped at the end whatever happened."""
    name = f"coatcheck_bench_{tag}"
    asyncio.run(_execute(admin_url, f'CREATE DATABASE "{name}"'))
    try:
        yield urlunsplit(urlsplit(admin_url)._replace(path="/" + name))
    finally:
        asyncio.run(_execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _execute(url: str, statement: str) -> None:
    connection = await asyncpg.connect(url, timeout=10)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def delete_prefix(url: str, prefix: str) -> int:
    """Delete every key under `prefix` (which holds no glob characters); return how many."""
    if any(char in prefix for char in "*?[]\\") or not prefix.endswith(":"):
        raise ValueError(f"refusing to delete under the prefix {prefix!r}")
    client = redis.Redis.from_url(url)
    deleted = 0
    try:
        batch: list[bytes] = []
        for key in client.scan_iter(match=prefix + "*", count=5000):
            batch.append(key)
            if len(batch) >= 5000:
                deleted += int(client.unlink(*batch))
                batch = []
        if batch:
            deleted += int(client.unlink(*batch))
    finally:
        client.close()
    return deleted


def used_memory(url: str) -> int:
    client = redis.Redis.from_url(url)
    try:
        return int(client.info("memory")["used_memory"])
    finally:
        client.close()


def keys_memory(url: str, prefix: str) -> tuple[int, int]:
    """(keys, sum of MEMORY USAGE) under `prefix`: what the keys take, whoever else writes."""
    client = redis.Redis.from_url(url)
    keys = total = 0
    try:
        batch: list[bytes] = []
        for key in client.scan_iter(match=prefix + "*", count=5000):
            batch.append(key)
            if len(batch) >= 2000:
                total += _usage(client, batch)
                keys += len(batch)
                batch = []
        if batch:
            total += _usage(client, batch)
            keys += len(batch)
    finally:
        client.close()
    return keys, total


def _usage(client: redis.Redis, keys: list[bytes]) -> int:
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.memory_usage(key, samples=0)
    return sum(int(size or 0) for size in pipe.execute())
