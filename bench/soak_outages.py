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
import json
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope

from bench.processes import Reaper
from bench.servers import ROOT, VENV_BIN, free_port, start_coatcheck
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
        # name, status, from, to, and the problem's type (or the client's error)
        self.server_errors: list[tuple[str, int, float, float, str]] = []
        self.accepted: Counter[str] = Counter()  # 202s for a reset, by address

    async def _call(
        self, http: aiohttp.ClientSession, name: str, method: str, path: str, **kwargs: Any
    ) -> int:
        started = time.monotonic()
        kind = ""
        try:
            async with http.request(method, self.base + path, **kwargs) as response:
                body = await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as error:
            status, kind = 0, type(error).__name__
        self.answers[name, status] += 1
        if status >= 500:
            try:
                kind = str(json.loads(body).get("type", ""))
            except (ValueError, AttributeError):
                kind = body[:80].decode(errors="replace")
        if status >= 500 or status == 0:
            self.server_errors.append((name, status, started, time.monotonic(), kind))
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
    arguments: argparse.Namespace,
    base: str,
    pid: int,
    redis: OwnRedis,
    sink: Sink,
    probe: Path | None = None,
) -> int:
    seconds = arguments.minutes * 60
    load = Load(base, seconds)
    began = time.monotonic()
    rss: list[tuple[float, int]] = []
    outages: dict[str, tuple[float, float]] = {}

    async def sample() -> None:
        minute = 1
        while time.monotonic() < load.until:
            at = time.monotonic() - began
            rss.append((at, rss_kib(pid)))
            if at >= minute * 60:
                print(f"  minute {minute}: RSS {rss[-1][1] / 1024:.1f} MiB", flush=True)
                if probe is not None:
                    os.kill(pid, signal.SIGUSR1)
                minute += 1
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
    for name, status, start, end, kind in unexcused:
        print(f"  {name} {status} {kind} from {start - began:.1f} s to {end - began:.1f} s")
    print(
        "RSS by minute (MiB): "
        + ", ".join(f"{kib / 1024:.1f}" for at, kib in _by_minute(rss))
        + f"; at the end {at_end / 1024:.1f}"
    )
    print(
        f"service memory (RSS): {minute_one / 1024:.1f} MiB at minute 1, {at_end / 1024:.1f} MiB"
        f" at the end ({growth:+.1%})"
    )
    if probe is not None:
        report_probe(probe)
    return 1 if lost or doubled or unexcused or growth > RSS_TOLERANCE else 0


def _by_minute(rss: list[tuple[float, int]]) -> list[tuple[float, int]]:
    """The first sample at or after each whole minute."""
    kept: list[tuple[float, int]] = []
    for at, kib in rss:
        if at >= 60 * (len(kept) + 1):
            kept.append((at, kib))
    return kept


def report_probe(folder: Path, top: int = 25) -> None:
    """What bench/soak_probe.py wrote at each minute: the heap's figures, the caches' sizes,
    and (with --probe-frames) where Python's heap grew between minute 1 and the last."""
    lines = (folder / "probe.jsonl").read_text().splitlines()
    probes = [json.loads(line) for line in lines if line]
    if not probes:
        print("probe: nothing recorded")
        return
    print("probe, by minute (MiB but for counts):")
    for figures in probes:
        heap = figures.get("glibc", {})
        python = figures.get("python_heap")
        own = figures.get("tracemalloc_own")
        print(
            f"  {figures['n']:2}: rss {figures['rss_kib'] / 1024:.1f}"
            + "".join(f" glibc.{k} {v / 2**20:.1f}" for k, v in heap.items())
            + (
                f" python {python / 2**20:.1f} (tracemalloc's own {own / 2**20:.1f})"
                if python
                else ""
            )
            + "".join(
                f" pymalloc.{k} {v / 2**20:.1f}"
                for k, v in figures.get("pymalloc", {}).items()
                if k != "arenas"
            )
            + "".join(
                f" rss.{k} {v / 1024:.1f}" for k, v in figures.get("mappings_kib", {}).items()
            )
            + f" gc objects {figures['gc_objects']} threads {figures['threads']}"
        )
    names = sorted({name for figures in probes for name in figures["caches"]})
    print("caches' sizes (entries) at minutes " + ", ".join(str(p["n"]) for p in probes) + ":")
    for name in names:
        print(f"  {name}: " + ", ".join(str(p["caches"].get(name, "-")) for p in probes))
    first, last = folder / "probe-1.snapshot", folder / f"probe-{probes[-1]['n']}.snapshot"
    if first.exists() and last.exists() and first != last:
        before, after = tracemalloc.Snapshot.load(str(first)), tracemalloc.Snapshot.load(str(last))
        for key in ("lineno", "traceback"):
            changes = after.compare_to(before, key)
            grown = sum(change.size_diff for change in changes)
            print(f"tracemalloc, minute 1 to {probes[-1]['n']} by {key}: {grown / 2**20:+.2f} MiB")
            for change in changes[: top if key == "lineno" else 8]:
                print(
                    f"  {change.size_diff / 2**10:+9.0f} KiB {change.count_diff:+7} blocks"
                    f" (now {change.size / 2**10:.0f} KiB)"
                )
                frames = (
                    change.traceback.format() if key == "traceback" else [str(change.traceback[0])]
                )
                for frame in frames:
                    print(f"      {frame.strip()}")


def print_warnings(log: Path, most: int = 60) -> None:
    """The service's lines above INFO (store_down, store_up, errors), so that a failed run
    says what the service saw: its log goes with the run's folder."""
    lines = []
    for line in log.read_text(errors="replace").splitlines():
        try:
            level = json.loads(line).get("level", "")
        except (ValueError, AttributeError):
            level = "?"
        if level not in ("INFO", "DEBUG"):
            lines.append(line)
    print(
        f"the service's lines above INFO: {len(lines)}" + (f", the last {most}:" if lines else "")
    )
    for line in lines[-most:]:
        print("  " + line[:400])


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench/soak-outages", description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--users", type=int, default=8, help="concurrent simulated users")
    parser.add_argument("--drain-seconds", type=float, default=120.0)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument(
        "--probe",
        action="store_true",
        help="diagnosis: run the service under bench/soak_probe.py and report, each minute,"
        " its heap's figures and the sizes of its caches",
    )
    parser.add_argument(
        "--probe-frames",
        type=int,
        default=0,
        help="with --probe: trace Python's allocations (tracemalloc, this many frames) and"
        " report where they grew between minute 1 and the last (slows the service)",
    )
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
        program: tuple[str, ...] = (str(VENV_BIN / "coatcheck"),)
        probe = None
        if arguments.probe:
            probe = Path(folder) / "probe"
            probe.mkdir()
            program = (str(VENV_BIN / "python"), "-m", "bench.soak_probe")
            env |= {
                "PYTHONPATH": str(ROOT),
                "SOAK_PROBE_DIR": str(probe),
                "SOAK_PROBE_FRAMES": str(arguments.probe_frames),
            }
        try:
            server = start_coatcheck(reaper, "soak-outages", env, Path(folder), program=program)
            code = asyncio.run(soak(arguments, server.url, server.process.pid, redis, sink, probe))
            reaper.stop(server.process)
            if code:
                print_warnings(server.log)
        finally:
            sink.down()
            redis.stop()
    raise SystemExit(code)


if __name__ == "__main__":
    main()
