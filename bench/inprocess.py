"""Per-request CPU of coatcheck's request path, in process: the app as `coatcheck serve`
runs it (its runner, protocol and request log), fed whole HTTP requests over fake
transports, on real PostgreSQL and Redis. No sockets and no load generator share the
cores, so a change of a microsecond or two shows, where wrk's runs swing by 10 %: the tool
used to decide which changes of issue 8 to keep (py-spy says where time goes; this says
whether a change paid). Prints CPU microseconds per request, the minimum of the rounds.

    .venv/bin/python -m bench.inprocess [--requests 30000] [--rounds 6]

Workloads: `bare` (bench/bare_app.py), `anon` (GET /authentication without a cookie: 401),
`auth` (the same with one of 10,000 cookies of 1,000 users, rotated). The sessions are
written through the Redis adapter and each requested once before the rounds, so that no
renewal falls into a measured round. `verify`: GET /authentication/verify with the same
cookies (forward auth). `renew`: the authenticated GET of a session due for
renewal (written a touch interval ago), every request: what a renewal costs (each round
writes `--requests` fresh sessions first, outside the timing; at most 10,000). `plain`
and `ceiling`: bench/plain_app.py and bench/ceiling_app.py. `core`: the authenticated GET
without coatcheck's middlewares and request line, measured right after `auth` (what those
cost, by their absence; not a way to serve).

`--callgrind` counts instructions instead of CPU time: the same workloads under valgrind's
callgrind (Debian's `valgrind`), a dump before and after each timed round, instructions a
request printed per workload. Deterministic where CPU time swings by several percent between
identical rounds here, so it can tell a change of 1 %; but it counts no cache or branch miss,
which on this machine make coatcheck's serving code cost about twice the CPU an instruction
of aiohttp's own path does (see docs/performance.md). Under it, deadlines are 60 s and
sessions fall due after 30 minutes (valgrind runs some 50 times slower), so `renew` is not
measured.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import redis.asyncio as redis_asyncio
import uvloop
from aiohttp import web

from bench import stores
from bench.ceiling_app import create_app as create_ceiling_app
from bench.plain_app import create_app as create_bare_app
from bench.seed_redis import BenchUser, write_sessions
from bench.workloads import CEILING_RECORD
from coatcheck.entrypoints import logs
from coatcheck.entrypoints.http.app import create_app
from coatcheck.entrypoints.logs import configure_logging
from coatcheck.entrypoints.serving import ServiceRunner, service_runner, settle_heap
from coatcheck.entrypoints.settings import load_settings

CONNECTIONS = 64
DEFAULT_GC_THRESHOLDS = gc.get_threshold()
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/120.0.0.0 Safari/537.36 bench/1.0"
)  # 110 bytes, as in bench/run
WORKLOADS = {
    "bare": "bare aiohttp GET",  # the handler of bench/bare_app.py, served as coatcheck is
    "anon": "GET /authentication, no cookie (401)",
    "auth": "GET /authentication, authenticated",
    "renew": "GET /authentication, renewing each time",
    "verify": "GET /authentication/verify (forward auth)",
    "plain": "plain aiohttp GET (access_log=None)",  # bench/plain_app.py, aiohttp's runner
    "ceiling": "ceiling: aiohttp + tick-batched MGET",  # bench/ceiling_app.py, the same cookies
    # what coatcheck's serving features cost, by their absence: not a way to serve
    "core": "auth without middlewares or request line",
}
SECRET = "in-process-bench-secret-of-at-least-32-bytes"  # noqa: S105 -- a scratch key space


class _Transport(asyncio.Transport):
    """Where the server writes its answers: counted, checked, and the next request sent."""

    def __init__(self, connection: _Connection) -> None:
        super().__init__()
        self._connection = connection
        self._closing = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 40000), "sockname": ("127.0.0.1", 8000)}.get(
            name, default
        )

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        self._closing = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._connection.answered(bytes(data))

    def writelines(self, chunks: Any) -> None:
        self._connection.answered(b"".join(chunks))


class _Round:
    def __init__(self, total: int, status: bytes) -> None:
        self.total, self.status = total, status
        self.sent = self.answers = self.wrong = 0
        self.wrong_answer = b""
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()


class _Connection:
    def __init__(self, server: web.Server, requests: Callable[[], bytes], run: _Round) -> None:
        self._requests, self._round = requests, run
        self.protocol = server()
        self.protocol.connection_made(_Transport(self))

    def send(self) -> None:
        if self._round.sent >= self._round.total:  # sends scheduled by answers meanwhile
            return
        self._round.sent += 1
        self.protocol.data_received(self._requests())

    def answered(self, data: bytes) -> None:
        run = self._round
        run.answers += 1
        if not data.startswith(b"HTTP/1.1 " + run.status):
            run.wrong += 1
            run.wrong_answer = data
        if run.sent < run.total:
            asyncio.get_running_loop().call_soon(self.send)
        elif run.answers >= run.total and not run.done.done():
            run.done.set_result(None)


def _head(path: str) -> str:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nUser-Agent: {USER_AGENT}\r\n"


def _request_maker(cookies: list[str], offset: int, path: str) -> Callable[[], bytes]:
    position = offset
    head = _head(path)
    plain = (head + "\r\n").encode()

    def make() -> bytes:
        nonlocal position
        if not cookies:
            return plain
        position = (position + 1) % len(cookies)
        return f"{head}Cookie: {cookies[position]}\r\n\r\n".encode()

    return make


def _each_once(cookies: list[str], path: str) -> Callable[[], bytes]:
    """Every cookie once, whichever connection asks next."""
    head = _head(path)
    left = iter(cookies)
    return lambda: f"{head}Cookie: {next(left)}\r\n\r\n".encode()


async def _round(
    server: web.Server,
    cookies: list[str],
    total: int,
    status: bytes,
    once: bool = False,
    path: str = "/authentication",
) -> _Round:
    """`total` requests over CONNECTIONS connections; `once`: each of `cookies` once."""
    run = _Round(total, status)
    each_once = _each_once(cookies, path) if once else None
    connections = [
        _Connection(server, each_once or _request_maker(cookies, number * 7919, path), run)
        for number in range(CONNECTIONS)
    ]
    for connection in connections:
        connection.send()
    await run.done
    for connection in connections:
        connection.protocol.connection_lost(None)
    return run


async def _measure(
    app: web.Application,
    cookies: list[str],
    status: bytes,
    args: Any,
    fresh: Callable[[], Awaitable[list[str]]] | None = None,
    path: str = "/authentication",
    own_runner: bool = False,
    request_lines: bool = True,
    warm: bool = True,
) -> float:
    """CPU microseconds a request; `fresh`: sessions due for renewal, new for each round
    (written before its timing starts), each requested once in the round. `own_runner`:
    served by aiohttp's runner without an access log (as the plain and ceiling apps are
    under wrk), not coatcheck's. `request_lines`: False, coatcheck's runner without them.
    `warm`: False, no round before the timed ones (an earlier workload renewed the sessions)."""
    if own_runner:
        runner: web.AppRunner = web.AppRunner(app, access_log=None)
    elif request_lines:
        runner = service_runner(app, "json")
    else:
        runner = ServiceRunner(app, access_log=None)
    await runner.setup()
    assert runner.server is not None
    if own_runner:  # an app of aiohttp's own, at CPython's defaults
        gc.collect()
        gc.set_threshold(*DEFAULT_GC_THRESHOLDS)
    else:
        settle_heap()  # as `coatcheck serve` does once started
    try:
        if cookies and warm:  # every session once: its renewal (due after seeding) is written now
            await _round(runner.server, cookies, len(cookies), status, once=True)
        timings: list[float] = []
        for _ in range(args.rounds):
            if fresh is not None:
                cookies[:] = await fresh()
            _dump(args, "between")
            started = time.process_time()
            once = fresh is not None
            run = await _round(runner.server, cookies, args.requests, status, once, path)
            timings.append((time.process_time() - started) / args.requests * 1e6)
            _dump(args, f"round:{args.workload}")
            if run.wrong:
                raise RuntimeError(
                    f"{run.wrong} answers were not {status.decode()}, such as {run.wrong_answer!r}"
                )
        return min(timings)
    finally:
        await runner.cleanup()
        gc.unfreeze()


async def _measure_all(
    args: Any, database_url: str, redis_url: str, prefix: str
) -> dict[str, float]:
    users = [
        BenchUser(str(uuid.uuid4()), f"user{n:06d}pad@bench.test", f"Bench {n:06d}")
        for n in range(1000)
    ]
    tickets = await write_sessions(
        redis_url, prefix, SECRET, users, 10_000, user_agent=USER_AGENT, sample=10_000
    )
    settings = load_settings(
        database_url=database_url,
        redis_url=redis_url,
        redis_prefix=prefix,
        session_secret=SECRET,
        # Counted as when serving, but no listener of its own: a coatcheck serving here may
        # hold METRICS_PORT (9181), and two of these may run at once.
        metrics_port="api",
        **(UNDER_CALLGRIND if args.under_callgrind else {}),
    )
    cookies = [f"{settings.cookie_full_name}={ticket}" for ticket in tickets]
    ceiling_prefix = f"{prefix}ceiling:"
    if "ceiling" in args.only:
        await _seed_ceiling(redis_url, ceiling_prefix, tickets)
    ceiling = create_ceiling_app(redis_url, ceiling_prefix, settings.cookie_full_name)
    due = min(args.requests, 10_000)

    async def fresh() -> list[str]:
        made = await write_sessions(
            redis_url, prefix, SECRET, users, due, user_agent=USER_AGENT, sample=due
        )
        return [f"{settings.cookie_full_name}={ticket}" for ticket in made]

    workloads = {
        "bare": lambda: _measure(create_bare_app(), [], b"200", args),
        "anon": lambda: _measure(create_app(settings), [], b"401", args),
        "auth": lambda: _measure(create_app(settings), cookies, b"200", args),
        # right after auth, whose first round renewed the sessions: none is due during it
        "core": lambda: _measure(
            _core(create_app(settings)), cookies, b"200", args, request_lines=False, warm=False
        ),
        "renew": lambda: _measure(create_app(settings), [], b"200", renewing, fresh),
        "verify": lambda: _measure(
            create_app(settings), cookies, b"200", args, path="/authentication/verify"
        ),
        "plain": lambda: _measure(create_bare_app(), [], b"200", args, own_runner=True),
        "ceiling": lambda: _measure(ceiling, cookies, b"200", args, own_runner=True),
    }
    renewing = argparse.Namespace(**{**vars(args), "requests": due})
    figures = {}
    for name, measure in workloads.items():
        if name in args.only:
            args.workload = renewing.workload = name
            figures[name] = await measure()
    return figures


def _core(app: web.Application) -> web.Application:
    """The authenticated GET's own work (ticket, store, record, answer) without what coatcheck
    serves it with: no middleware (request id, deadline, headers, metrics, aiohttp-session,
    problems, Origin) and, served by coatcheck's runner without an access log, no request
    line. Its cost against the full app's is what those take; only measured on sessions not
    due for renewal (a renewal needs aiohttp-session's middleware)."""
    app.middlewares.clear()
    return app


async def _seed_ceiling(redis_url: str, prefix: str, tickets: list[str]) -> None:
    """The ceiling's keys, one a ticket, each as long as a session record."""
    client = redis_asyncio.Redis.from_url(redis_url)
    try:
        async with client.pipeline(transaction=False) as pipe:
            for ticket in tickets:
                pipe.set(prefix + ticket, CEILING_RECORD)
            await pipe.execute()
    finally:
        await client.aclose()


# valgrind runs the process some 50 times slower: nothing may time out or fall due meanwhile
UNDER_CALLGRIND = {
    "request_deadline": 60,
    "hashing_deadline": 60,
    "session_touch_interval": 1800,
    "session_idle_timeout": 4 * 3600,
}


def _dump(args: Any, tag: str) -> None:
    """Under callgrind: write the instructions counted since the last dump, tagged."""
    if args.under_callgrind:
        command = ["callgrind_control", "--dump=" + tag, str(os.getpid())]
        subprocess.run(command, check=True, capture_output=True)


def _callgrind(argv: list[str], requests: int, rounds: int) -> int:
    """Run this script under callgrind and print the instructions a request of each workload
    (median of its rounds)."""
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        print("--callgrind needs valgrind: apt-get install -y valgrind", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="coatcheck-callgrind-") as folder:
        command = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={folder}/cg.%p",
            sys.executable,
            "-m",
            "bench.inprocess",
            "--under-callgrind",
            "--requests",
            str(requests),
            "--rounds",
            str(rounds),
            *argv,
        ]
        if subprocess.run(command, check=False).returncode != 0:
            return 1
        counts: dict[str, list[float]] = {}
        for path in Path(folder).glob("cg.*"):
            text = path.read_text(errors="replace")
            tag = re.search(r"^desc: Trigger: dump (\S+)$", text, re.MULTILINE)
            total = re.search(r"^totals: (\d+)", text, re.MULTILINE)
            if tag and total and tag.group(1).startswith("round:"):
                workload = tag.group(1).removeprefix("round:")
                counts.setdefault(workload, []).append(int(total.group(1)) / requests)
    for name, label in WORKLOADS.items():
        if name in counts:
            print(f"{label:40s} {statistics.median(counts[name]):9,.0f} instructions a request")
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # Defaults set below: they differ under --callgrind, which must still see --requests=N.
    parser.add_argument("--requests", type=int, help="requests a round (30,000)")
    parser.add_argument("--rounds", type=int, help="rounds; the minimum is shown (6)")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument(
        "--only",
        action="append",
        choices=WORKLOADS,
        help="measure only this workload (repeatable; to profile one with py-spy)",
    )
    parser.add_argument(
        "--callgrind",
        action="store_true",
        help="count instructions under valgrind's callgrind, not CPU time"
        " (defaults then: --requests 1000 --rounds 2)",
    )
    parser.add_argument("--under-callgrind", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.callgrind:
        argv = [f"--only={name}" for name in args.only or WORKLOADS if name != "renew"]
        argv += [f"--postgres={args.postgres}", f"--redis-url={args.redis_url}"]
        requests = 1000 if args.requests is None else args.requests
        rounds = 2 if args.rounds is None else args.rounds
        sys.exit(_callgrind(argv, requests, rounds))
    args.requests = 30_000 if args.requests is None else args.requests
    args.rounds = 6 if args.rounds is None else args.rounds
    if args.under_callgrind and "renew" in (args.only or ()):
        parser.error("renew is not measured under callgrind (sessions fall due after 30 min)")
    args.only = set(args.only or WORKLOADS)
    if "core" in args.only:
        args.only.add("auth")  # core's sessions are the ones auth's first round renewed
    configure_logging("json")
    # the request lines are made and buffered as when serving; only their output goes
    logs._REQUEST_LINES._stream = open(os.devnull, "wb")  # noqa: SIM115
    tag = stores.run_tag()
    prefix = f"coatcheck-inprocess:{tag}:"
    with stores.scratch_database(stores.check_local(args.postgres), tag) as database_url:
        try:
            figures = uvloop.run(
                _measure_all(args, database_url, stores.check_local(args.redis_url), prefix)
            )
        finally:
            stores.delete_prefix(args.redis_url, prefix)
    bare = figures.get("bare")
    for name, label in WORKLOADS.items():
        if name in figures:
            ratio = f"   {bare / figures[name]:.2f} x bare" if bare else ""
            print(f"{label:40s} {figures[name]:6.1f} us CPU a request{ratio}")


if __name__ == "__main__":
    main()
