"""One command for every figure of issues 8, 12 and 20: starts coatcheck and what it is
measured against (the bare handler, a plain aiohttp app, the ceiling, the peer) on local
PostgreSQL and Redis, drives each workload with wrk, and prints one table of req/s, p50,
p99 and every ratio against its target. Exit status: 0 every target met; 1 a step failed;
2 a target missed; 3 the run is invalid (a load-generator-bound baseline, or a ceiling
short of 0.75 of the bare handler). See bench/README.md."""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import platform
import resource
import subprocess
import tempfile
import traceback
from collections.abc import Sequence
from pathlib import Path

import aiohttp

from bench import against, charts, memory, report, scale
from bench.processes import Reaper
from bench.results import RunData
from bench.servers import ROOT
from bench.stores import check_local, delete_prefix, run_tag, scratch_database
from bench.workloads import Bench

WORKLOADS = ("get", "login", "connections", "memory", "sessions", "verify")
FULL_SIZES = "1000,10000,100000,1000000"
QUICK = {"duration": 2, "runs": 1, "sizes": "1000,10000,100000", "memory_sessions": 1_000}
FAILED, MISSED, INVALID = 1, 2, 3  # exit statuses
RESULTS = ROOT / "bench" / "results"
DOC = ROOT / "docs" / "performance.md"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__)
    add = parser.add_argument
    add("--duration", type=int, help="whole seconds of each wrk run (default 5; --quick 2)")
    add("--runs", type=int, help="runs of each workload; medians are reported (default 5)")
    add("--connections", type=int, default=64, help="wrk connections (default 64)")
    add("--threads", type=int, default=1, help="wrk threads (default 1)")
    add(
        "--only",
        action="append",
        choices=WORKLOADS,
        help="run only this workload (repeatable): get = bare, authenticated, 401 and "
        "--workers 2 (targets 1, 2, 7); login (3); connections (4); memory (5); sessions (6);"
        " verify = GET /authentication/verify against the authenticated GET (issue 12)",
    )
    add(
        "--quick", action="store_true", help="2 s runs, 1 run, sizes up to 100k: checks the harness"
    )
    add("--bcrypt-rounds", type=int, default=12, help="bcrypt cost of the log-in run (default 12)")
    add("--users", type=int, default=1000, help="users registered over HTTP (default 1000)")
    add("--sessions-per-user", type=int, default=10, help="sessions each, register included (10)")
    add("--login-users", type=int, default=32, help="users the log-in run rotates over (32)")
    add("--login-connections", type=int, default=8, help="wrk connections of the log-in run (8)")
    add(
        "--login-duration",
        type=int,
        help="whole seconds of each log-in run, and of the GET beside it (default 2 x --duration:"
        " a log-in takes a bcrypt hash, so a run holds few)",
    )
    add("--many-connections", type=int, default=1000, help="connections of target 4 (1000)")
    add("--sizes", help=f"live sessions of target 6, comma-separated (default {FULL_SIZES})")
    add(
        "--scale-sample",
        type=int,
        default=10_000,
        help="sessions wrk rotates over at every size of target 6: the smallest size, at most this",
    )
    add(
        "--memory-sessions",
        type=int,
        help="bearer sessions made over HTTP for target 5, 100 a user (default 5000)",
    )
    add("--seed-processes", type=int, default=2, help="processes writing sessions into Redis (2)")
    add("--warmup", type=int, default=1, help="seconds of load on each server first (1; 0: none)")
    add(
        "--pin",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="run the servers under test on CPU 0 and wrk on CPU 1 (taskset; default off)",
    )
    add(
        "--postgres",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="a PostgreSQL admin URL: a scratch database is created and dropped there",
    )
    add("--redis-url", default="redis://127.0.0.1:6379/0")
    add(
        "--against",
        metavar="COMMIT",
        help="also measure the authenticated GET of this older commit's build in the same"
        " rounds (its own sessions, database and Redis prefix; see bench/against.py), and"
        " judge this build's ratio to bare against it (issue 21: within 3 %%)",
    )
    add(
        "--docs",
        action=argparse.BooleanOptionalAction,
        help="rewrite docs/performance.md and its charts (default: on for a full valid run)",
    )
    return parser


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    arguments = _parser().parse_args(argv)
    defaults = {"duration": 5, "runs": 5, "sizes": FULL_SIZES, "memory_sessions": 5_000}
    for name, value in (QUICK if arguments.quick else defaults).items():
        if getattr(arguments, name) is None:
            setattr(arguments, name, value)
    if arguments.login_duration is None:
        arguments.login_duration = 2 * arguments.duration
    arguments.sizes = [int(size) for size in str(arguments.sizes).split(",") if size]
    arguments.only = set(arguments.only or WORKLOADS)
    # a full run rewrites docs/ when it is valid; --docs asks for it whatever the run (an
    # invalid run's table says so, and shows no ratio)
    arguments.docs_forced = bool(arguments.docs)
    if arguments.docs is None:
        arguments.docs = not arguments.quick and arguments.only == set(WORKLOADS)
    check_local(arguments.postgres)
    check_local(arguments.redis_url)
    if arguments.against:
        against.resolve(arguments.against)  # a commit that does not exist fails at once
    return arguments


def _facts(arguments: argparse.Namespace) -> dict[str, str]:
    def git(*command: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(ROOT), *command], capture_output=True, text=True, check=False
        )
        return done.stdout.strip()

    dirty = " (uncommitted changes)" if git("status", "--porcelain", "--", "src") else ""
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "code": f"coatcheck {git('rev-parse', '--short', 'HEAD')}{dirty}",
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}, "
        f"aiohttp {aiohttp.__version__}, uvloop; load average {_load_average()}",
        "load": f"wrk {arguments.threads} thread(s), {arguments.connections} connections, "
        "requests formatted once, "
        f"medians of {arguments.runs} run(s) of {arguments.duration:g} s, every server interleaved"
        + ("; servers on CPU 0, wrk on CPU 1 (taskset)" if arguments.pin else ""),
    }


def _load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _arguments(argv)
    _raise_open_files_limit()
    data = RunData(facts=_facts(arguments))
    tag = run_tag()
    root_prefix = f"coatcheck-bench:{tag}:"
    failed = False
    print(f"bench: run {tag}; scratch database coatcheck_bench_{tag}, Redis prefix {root_prefix}")
    with tempfile.TemporaryDirectory(prefix="coatcheck-bench-") as folder:
        try:
            with contextlib.ExitStack() as stack:
                database_url = stack.enter_context(scratch_database(arguments.postgres, tag))
                older = None
                if arguments.against:
                    build = stack.enter_context(against.checkout(arguments.against, Path(folder)))
                    older_database = scratch_database(arguments.postgres, tag + "_against")
                    older = (build, stack.enter_context(older_database))
                reaper = stack.enter_context(Reaper())
                bench = Bench(
                    arguments,
                    reaper,
                    Path(folder),
                    database_url,
                    arguments.redis_url,
                    root_prefix,
                    data,
                    older,
                )
                _run(bench, arguments.only)
        except KeyboardInterrupt:
            print("bench: interrupted")
            failed = True
        except Exception:  # a failed step still leaves the table of what was measured
            traceback.print_exc()
            failed = True
        finally:
            deleted = delete_prefix(arguments.redis_url, root_prefix)
            print(f"bench: deleted {deleted:,} Redis keys under {root_prefix}")
    data.facts["load average"] = f"load average at the end {_load_average()}"
    _report(arguments, data, complete=not failed)
    if failed:
        return FAILED
    if report.invalid(data):
        print("bench: INVALID RUN: " + "; ".join(report.invalid(data)))
        return INVALID
    return MISSED if report.failed(data) else 0


def _raise_open_files_limit() -> None:
    """1,000 connections need more than the usual 1,024 descriptors, in wrk and the servers
    (which inherit the limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 65_536 if hard == resource.RLIM_INFINITY else min(hard, 65_536)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def _run(bench: Bench, workloads: set[str]) -> None:
    arguments = bench.arguments
    if "memory" in workloads:
        print(f"target 5: {arguments.memory_sessions:,} bearer sessions made over HTTP")
        bench.data.memory = memory.measure_both(bench, arguments.memory_sessions)
    rounds = {"get", "login", "connections", "verify"}
    if workloads & (rounds | {"sessions"}):
        bench.seed(log_ins=bool(workloads & rounds))
    if workloads & rounds:
        bench.rounds(workloads)
    if "sessions" in workloads:
        scale.run(bench, arguments.sizes)


def _report(arguments: argparse.Namespace, data: RunData, complete: bool) -> None:
    """The table on the terminal and in bench/results/latest.md; the charts; and, for a
    complete full run, docs/performance.md's results section and charts."""
    RESULTS.mkdir(exist_ok=True)
    valid = not report.invalid(data)
    docs = arguments.docs and complete and (valid or arguments.docs_forced)
    folder = DOC.parent if docs else RESULTS
    made = charts.draw(data, folder)

    def linked(home: Path) -> dict[str, str]:
        return {title: os.path.relpath(folder / name, home) for title, name in made.items()}

    latest = RESULTS / "latest.md"
    latest.write_text(report.markdown(data, linked(RESULTS)))
    print("\n" + report.markdown(data))
    written = [latest, *(folder / name for name in made.values())]
    if docs:
        report.write_docs(DOC, report.markdown(data, linked(DOC.parent)))
        written.append(DOC)
    names = ", ".join(str(path.relative_to(ROOT)) for path in written)
    print(f"bench: wrote {names}" + ("" if complete else " (incomplete run: docs left alone)"))
