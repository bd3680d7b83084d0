"""Time "log out everywhere" on Redis: RedisSessions.remove_of_user for a user with many sessions.

Usage: .venv/bin/python -m bench.revoke_all [--url redis://127.0.0.1:6379/0]
Writes only under a random key prefix of its own, deletes it at the end, and talks only
to a Redis on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from urllib.parse import urlsplit

import redis.asyncio as redis
from redis.asyncio.connection import Connection

from bench.stores import check_local
from coatcheck.adapters.redis.sessions import RedisSessions
from coatcheck.domain.model import ClientInfo, SessionKind
from coatcheck.domain.sessions import SessionPolicy


class CountingConnection(Connection):
    """Counts socket sends: one per command or pipeline, that is one per round trip."""

    sends = 0

    async def send_packed_command(
        self, command: bytes | str | Iterable[bytes], check_health: bool = True
    ) -> None:
        CountingConnection.sends += 1
        await super().send_packed_command(command, check_health)


async def bench(url: str, count: int, repeat: int) -> None:
    client = redis.Redis.from_url(url, connection_class=CountingConnection)
    prefix = f"coatcheck-bench:{secrets.token_hex(6)}:"
    sessions = RedisSessions(client, prefix=prefix)
    policy, user = SessionPolicy(), uuid.uuid4()
    timings, trips = [], []
    try:
        await client.ping()
        for _ in range(repeat):
            now = datetime.now(UTC)
            for _ in range(count):
                session = policy.start(user, SessionKind.REMEMBERED, ClientInfo("bench"), now)
                await sessions.add(secrets.token_hex(32), session)
            sends, started = CountingConnection.sends, time.perf_counter()
            removed = await sessions.remove_of_user(user)
            timings.append((time.perf_counter() - started) * 1000)
            trips.append(CountingConnection.sends - sends)
            if removed != count:
                raise SystemExit(f"removed {removed} sessions, expected {count}")
    finally:
        keys = [key async for key in client.scan_iter(match=prefix + "*", count=1000)]
        if keys:
            await client.delete(*keys)
        await client.aclose()
    print(f"revoke-all of {count} sessions, {repeat} runs, Redis at {urlsplit(url).hostname}")
    print(f"median {statistics.median(timings):.2f} ms, min {min(timings):.2f} ms")
    print(f"round trips per revoke-all: {sorted(set(trips))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    asyncio.run(bench(check_local(args.url), args.sessions, args.repeat))


if __name__ == "__main__":
    main()
