"""bench/soak: a bounded mixed load on `coatcheck serve` (PostgreSQL and Redis on this
machine): users register, log in, authenticate, revoke a session, log out, for a few
minutes. It reports errors (answers it did not expect: must be 0), the service's memory at
start and end, and the Redis keys left under the run's prefix that belong to no live
session (must be 0). Not part of ./scripts/test."""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from collections import Counter
from pathlib import Path

import aiohttp
import redis

from bench.processes import Reaper
from bench.servers import start_coatcheck
from bench.stores import check_local, delete_prefix, run_tag, scratch_database

SECRET = "soak-secret-" + "0" * 32
PASSWORD = "correct horse battery"  # noqa: S105 -- the soak users' own


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Soak:
    def __init__(self, base: str, seconds: float) -> None:
        self.base = base
        self.until = time.monotonic() + seconds
        self.answers: Counter[tuple[str, int]] = Counter()
        self.errors: Counter[tuple[str, int]] = Counter()

    async def _call(
        self,
        http: aiohttp.ClientSession,
        name: str,
        method: str,
        path: str,
        expected: int,
        **kwargs: object,
    ) -> dict[str, object] | list[object] | None:
        async with http.request(method, self.base + path, **kwargs) as response:  # type: ignore[arg-type]
            body = await response.read()
            self.answers[name, response.status] += 1
            if response.status != expected:
                self.errors[name, response.status] += 1
                return None
            return (
                await response.json() if body and response.content_type.endswith("json") else None
            )

    async def user(self, number: int) -> None:
        rng = random.Random(number)
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            while time.monotonic() < self.until:
                email = f"soak-{number}-{rng.randrange(10**9)}@example.com"
                user = {"email": email, "name": "Soak", "password": PASSWORD}
                await self._call(
                    http, "register", "POST", "/authentication/register", 201, json=user
                )
                login = {"email": email, "password": PASSWORD}
                tokens = []
                for _ in range(3):
                    body = await self._call(
                        http, "token", "POST", "/authentication/token", 200, json=login
                    )
                    if isinstance(body, dict):
                        tokens.append(str(body["token"]))
                await self._call(http, "log-in", "POST", "/authentication/log-in", 200, json=login)
                for _ in range(20):
                    await self._call(http, "who-am-i", "GET", "/authentication", 200)
                if tokens:
                    bearer = {"Authorization": f"Bearer {tokens[0]}"}
                    listed = await self._call(
                        http, "sessions", "GET", "/authentication/sessions", 200, headers=bearer
                    )
                    others = [s for s in listed or [] if isinstance(s, dict) and not s["current"]]
                    if others:
                        await self._call(
                            http,
                            "revoke",
                            "DELETE",
                            f"/authentication/sessions/{others[0]['id']}",
                            204,
                            headers=bearer,
                        )
                    await self._call(
                        http,
                        "revoke-others",
                        "DELETE",
                        "/authentication/sessions",
                        204,
                        headers=bearer,
                    )
                    await self._call(
                        http, "log-out", "POST", "/authentication/log-out", 204, headers=bearer
                    )
                await self._call(http, "log-out", "POST", "/authentication/log-out", 204)
                jar.clear()


def orphan_keys(url: str, prefix: str) -> int:
    """Keys that belong to no live session: a session record no index lists, an index entry
    whose record is gone, an index with no live entry (throttle counters and the readiness
    key are not sessions' and expire on their own)."""
    client = redis.Redis.from_url(url)
    try:
        records = set(client.scan_iter(match=prefix + "s:*", count=5000))
        listed: set[bytes] = set()
        orphans = 0
        for index in client.scan_iter(match=prefix + "user:*:sessions", count=5000):
            members = client.zrange(index, 0, -1)
            keys = [prefix.encode() + b"s:" + member for member in members]
            listed.update(keys)
            orphans += sum(1 for key in keys if key not in records)
            if not members:
                orphans += 1
        return orphans + len(records - listed)
    finally:
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench/soak", description=__doc__)
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--users", type=int, default=16, help="concurrent simulated users")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    arguments = parser.parse_args()
    check_local(arguments.postgres)
    check_local(arguments.redis_url)
    tag = run_tag()
    prefix = f"coatcheck-soak:{tag}:"
    with (
        scratch_database(arguments.postgres, tag) as dsn,
        Reaper() as reaper,
        tempfile.TemporaryDirectory() as folder,
    ):
        env = {
            "DATABASE_URL": dsn,
            "REDIS_URL": arguments.redis_url,
            "REDIS_PREFIX": prefix,
            "SESSION_SECRET": SECRET,
            "BCRYPT_ROUNDS": "4",
            "COOKIE_SECURE": "false",
            "THROTTLE_ADDRESS_LIMIT": "100000000",
            "REGISTER_THROTTLE_LIMIT": "100000000",
            "DATA_DIR": folder,
        }
        try:
            server = start_coatcheck(reaper, "soak", env, Path(folder))
            started_kib = rss_kib(server.process.pid)
            soak = Soak(server.url, arguments.seconds)
            began = time.monotonic()

            async def everyone() -> None:
                await asyncio.gather(*(soak.user(n) for n in range(arguments.users)))

            asyncio.run(everyone())
            took = time.monotonic() - began
            ended_kib = rss_kib(server.process.pid)
            reaper.stop(server.process)
            orphans = orphan_keys(arguments.redis_url, prefix)
        finally:
            delete_prefix(arguments.redis_url, prefix)
    total = sum(soak.answers.values())
    rate = total / took
    print(f"soak: {total} requests in {took:.0f} s ({rate:.0f} req/s), {arguments.users} users")
    for (name, status), count in sorted(soak.answers.items()):
        print(f"  {name:14} {status}  x{count}")
    print(f"errors: {sum(soak.errors.values())} {dict(soak.errors) or ''}")
    start, end = started_kib / 1024, ended_kib / 1024
    print(f"service memory (RSS): {start:.1f} MiB at start, {end:.1f} MiB at end")
    print(f"Redis keys that belong to no live session: {orphans}")
    if soak.errors or orphans:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
