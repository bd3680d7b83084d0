"""bench/soak-outages: `coatcheck serve` under a steady mixed load for --minutes (10 by default)
on PostgreSQL, a Redis server of its own and an SMTP sink of its own, with a Redis restart
and an SMTP outage inside the run. Users register, log in, check who they are, and ask for
password resets of their own (known) addresses.

It prints, and exits non-zero unless each holds:
- letters: every reset answered 202 gave exactly one letter at the sink (after the run, the
  outbox is given --drain-seconds to deliver what the outage held back);
- 5xx: none, but for requests that overlapped the Redis restart (and its recovery);
- memory: the service's RSS at the end within 10% of its RSS at minute 1.
Needs PostgreSQL on 127.0.0.1 and `redis-server`. Not part of ./scripts/test."""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import random
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope

from bench.processes import Reaper
from bench.servers import free_port, start_coatcheck
from bench.soak import PASSWORD, SECRET, rss_kib
from bench.stores import check_local, run_tag, scratch_database

RESET_SUBJECT = "Reset your password"
REDIS_DOWN_SECONDS = 5.0
RECOVERY_SLACK = 5.0  # after Redis is back: reconnections, the first failed commands
RSS_TOLERANCE = 0.10


class Sink:
    """An SMTP server that can be taken down and brought back on the same port."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.resets: Counter[str] = Counter()
        self._controller: Controller | None = None

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Envelope) -> str:
        content = envelope.content or b""
        raw = content.encode() if isinstance(content, str) else content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        if RESET_SUBJECT in str(message["Subject"]):
            for recipient in envelope.rcpt_tos:
                self.resets[str(recipient).lower()] += 1
        return "250 OK"

    def up(self) -> None:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def down(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


class OwnRedis:
    """redis-server on a free port, its data in a folder of its own (append-only, so that a
    restart keeps the sessions, as a production Redis does)."""

    def __init__(self, reaper: Reaper, folder: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._reaper, self._folder = reaper, folder
        self._process: subprocess.Popen[Any] | None = None

    def start(self) -> None:
        command = [
            shutil.which("redis-server") or "redis-server",
            *("--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self._folder)),
            *("--appendonly", "yes", "--appendfsync", "always", "--save", ""),
        ]
        self._process = self._reaper.spawn(command, stdout=subprocess.DEVNULL)
        time.sleep(0.5)

    def stop(self) -> None:
        if self._process is not None:
            self._reaper.stop(self._process)
            self._process = None


class Load:
    def __init__(self, base: str, seconds: float) -> None:
        self.base = base
        self.until = time.monotonic() + seconds
        self.answers: Counter[tuple[str, int]] = Counter()
        self.server_errors: list[tuple[str, int, float, float]] = []  # name, status, from, to
        self.accepted: Counter[str] = Counter()  # 202s for a reset, by address

    async def _call(
        self, http: aiohttp.ClientSession, name: str, method: str, path: str, **kwargs: Any
    ) -> int:
        started = time.monotonic()
        try:
            async with http.request(method, self.base + path, **kwargs) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError):
            status = 0
        self.answers[name, status] += 1
        if status >= 500 or status == 0:
            self.server_errors.append((name, status, started, time.monotonic()))
        return status

    async def user(self, number: int) -> None:
        rng = random.Random(number)
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            while time.monotonic() < self.until:
                address = f"soak-{number}-{rng.randrange(10**9)}@example.com"
                user = {"email": address, "name": "Soak", "password": PASSWORD}
                if (
                    await self._call(
                        http, "register", "POST", "/authentication/register", json=user
                    )
                    != 201
                ):
                    await asyncio.sleep(0.5)
                    continue
                login = {"email": address, "password": PASSWORD}
                await self._call(http, "log-in", "POST", "/authentication/log-in", json=login)
                for _ in range(10):
                    await self._call(http, "who-am-i", "GET", "/authentication")
                reset = {"email": address}
                status = await self._call(
                    http, "reset", "POST", "/authentication/password-reset", json=reset
                )
                if status == 202:
                    self.accepted[address] += 1
                await self._call(http, "log-out", "POST", "/authentication/log-out")
                jar.clear()


async def soak(
    arguments: argparse.Namespace, base: str, pid: int, redis: OwnRedis, sink: Sink
) -> int:
    seconds = arguments.minutes * 60
    load = Load(base, seconds)
    began = time.monotonic()
    rss: list[tuple[float, int]] = []
    outages: dict[str, tuple[float, float]] = {}

    async def sample() -> None:
        while time.monotonic() < load.until:
            rss.append((time.monotonic() - began, rss_kib(pid)))
            await asyncio.sleep(5)

    async def faults() -> None:
        await asyncio.sleep(seconds * 0.3)
        down = time.monotonic()
        await asyncio.to_thread(redis.stop)
        await asyncio.sleep(REDIS_DOWN_SECONDS)
        await asyncio.to_thread(redis.start)
        outages["redis"] = (down, time.monotonic() + RECOVERY_SLACK)
        await asyncio.sleep(max(0.0, began + seconds * 0.55 - time.monotonic()))
        down = time.monotonic()
        sink.down()
        await asyncio.sleep(min(60.0, seconds * 0.15))
        sink.up()
        outages["smtp"] = (down, time.monotonic())

    await asyncio.gather(sample(), faults(), *(load.user(n) for n in range(arguments.users)))
    took = time.monotonic() - began

    drain_until = time.monotonic() + arguments.drain_seconds
    while time.monotonic() < drain_until and any(  # noqa: ASYNC110 -- polling the sink
        sink.resets[a] < n for a, n in load.accepted.items()
    ):
        await asyncio.sleep(1)

    redis_down = outages.get("redis", (0.0, 0.0))
    excused = [e for e in load.server_errors if e[2] <= redis_down[1] and e[3] >= redis_down[0]]
    unexcused = [e for e in load.server_errors if e not in excused]
    lost = sum(max(0, n - sink.resets[a]) for a, n in load.accepted.items())
    doubled = sum(max(0, sink.resets[a] - n) for a, n in load.accepted.items())
    minute_one = next((kib for at, kib in rss if at >= 60), rss[-1][1] if rss else 0)
    at_end = rss[-1][1] if rss else 0
    growth = (at_end - minute_one) / minute_one if minute_one else 0.0

    total = sum(load.answers.values())
    rate, users = total / took, arguments.users
    print(f"soak-outages: {total} requests in {took:.0f} s ({rate:.0f} req/s), {users} users")
    for (name, status), count in sorted(load.answers.items()):
        print(f"  {name:10} {status}  x{count}")
    for name, (start, end) in outages.items():
        print(f"outage {name}: {start - began:.0f} s to {end - began:.0f} s into the run")
    print(
        f"letters: {sum(load.accepted.values())} resets answered 202, {sum(sink.resets.values())}"
        f" reset letters at the sink: {lost} lost, {doubled} more than once"
    )
    print(f"5xx: {len(excused)} during the Redis restart, {len(unexcused)} outside it")
    print(
        f"service memory (RSS): {minute_one / 1024:.1f} MiB at minute 1, {at_end / 1024:.1f} MiB"
        f" at the end ({growth:+.1%})"
    )
    return 1 if lost or doubled or unexcused or growth > RSS_TOLERANCE else 0


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench/soak-outages", description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--users", type=int, default=8, help="concurrent simulated users")
    parser.add_argument("--drain-seconds", type=float, default=120.0)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    arguments = parser.parse_args()
    check_local(arguments.postgres)
    tag = run_tag()
    with (
        scratch_database(arguments.postgres, tag) as dsn,
        Reaper() as reaper,
        tempfile.TemporaryDirectory() as folder,
    ):
        redis = OwnRedis(reaper, Path(folder))
        redis.start()
        sink = Sink(free_port())
        sink.up()
        env = {
            "DATABASE_URL": dsn,
            "REDIS_URL": redis.url,
            "SESSION_SECRET": SECRET,
            "BCRYPT_ROUNDS": "4",
            "COOKIE_SECURE": "false",
            "THROTTLE_ADDRESS_LIMIT": "100000000",
            "REGISTER_THROTTLE_LIMIT": "100000000",
            "EMAIL_THROTTLE_CLIENT_LIMIT": "100000000",
            # Letters to one address spaced by 1 ms, not 12 minutes: every 202 sends one.
            "EMAIL_THROTTLE_RECIPIENT_LIMIT": "3600000",
            "EMAIL_BACKEND": "smtp",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(sink.port),
            "SMTP_TLS": "none",
            "EMAIL_FROM": "coatcheck <soak@example.com>",
            "PUBLIC_BASE_URL": "https://soak.example.com",
            "DATA_DIR": folder,
        }
        try:
            server = start_coatcheck(reaper, "soak-outages", env, Path(folder))
            code = asyncio.run(soak(arguments, server.url, server.process.pid, redis, sink))
            reaper.stop(server.process)
        finally:
            sink.down()
            redis.stop()
    raise SystemExit(code)


if __name__ == "__main__":
    main()
