"""Target 6: the authenticated GET as the sessions in Redis grow from 1,000 to 1,000,000.

Sessions are written straight into Redis through coatcheck's adapter (bench/seed_redis.py)
for the users registered over HTTP (1,000 sessions a user at 1M), under a prefix that one
coatcheck process serves. At each size, wrk rotates over a uniform sample of the live
sessions, of the same number at every size: the smallest size, at most `--scale-sample`
(1,000 at the default sizes). So only the number of sessions Redis holds differs between
sizes, not how many distinct sessions the requests name (with 1,000 rotated at 1k and
10,000 at 1M, the larger size also missed the decoded-record cache more: two things
measured as one). The bare handler runs beside it in the same rounds so that machine drift
between sizes can be told apart from the store growing.

Renewals are kept out of every run alike: a session's renewal is written at most once a
touch interval, at its first request after that. So before a size's first run (and again
whenever the runs would outlast a touch interval) every sampled session is requested once
while all of them are due, which renews them all; the runs that follow, within the
interval, renew none. Seeded sessions are due from the start (seed_redis.SEEDED_AGO).
"""

from __future__ import annotations

import asyncio
import time

from bench import seed_http
from bench.results import Level, check
from bench.seed_redis import merge_samples, seed
from bench.stores import delete_prefix
from bench.workloads import TOUCH_INTERVAL, Bench


def run(bench: Bench, sizes: list[int]) -> None:
    arguments = bench.arguments
    prefix = bench.root_prefix + "scale:"
    server = bench.coatcheck("scale", prefix=prefix)
    bare = bench.bare()
    cookies = bench.folder / "scale-cookies.txt"
    sample: list[str] = []
    live = 0
    touched = -TOUCH_INTERVAL  # when the last touch pass started (time.monotonic())
    rotated = min(arguments.scale_sample, *sizes)  # the same number at every size
    try:
        for size in sorted(sizes):
            started = time.monotonic()
            added = seed(
                bench.reaper,
                redis_url=bench.redis_url,
                prefix=prefix,
                secret=bench.secret,
                users=bench.users,
                count=size - live,
                user_agent=bench.user_agent,
                start=live,
                sample=rotated,
                processes=arguments.seed_processes,
            )
            sample = merge_samples([(live, sample), (size - live, added)], rotated)
            live = size
            print(f"{size:,} live sessions (seeded in {time.monotonic() - started:.0f} s)")
            lines = [f"{bench.cookie_name}={ticket}" for ticket in sample]
            cookies.write_text("\n".join(lines) + "\n")
            level = Level(size)
            bench.data.levels.append(level)
            for number in range(arguments.runs):
                # both loads of this run must end before the touched sessions are due again
                ends = time.monotonic() + 2 * arguments.duration + 10
                if number == 0 or ends > touched + TOUCH_INTERVAL:
                    touched = _touch(bench, server.url, lines, touched)
                pair = [("scale", server, level.coatcheck), ("bare", bare, level.bare)]
                for name, target, results in pair if number % 2 == 0 else pair[::-1]:
                    result = bench.wrk.run(bench.get_load(target, cookies))
                    results.append(result)
                    target.truncate_log()
                    wrong = check(result, "2xx")
                    if wrong:
                        bench.data.problems.append(f"{name} at {size:,} sessions: {wrong}")
                    print(f"  {name:<6} {result.rate:9.1f} req/s  p99 {result.p99_ms:7.2f} ms")
    finally:
        bench.reaper.stop(server.process)
        deleted = delete_prefix(bench.redis_url, prefix)
        print(f"deleted {deleted:,} keys under {prefix}")


def _touch(bench: Bench, url: str, cookies: list[str], touched: float) -> float:
    """Request every sampled session once, after waiting until all are due for renewal
    (the sessions of the last pass too); return when this pass started."""
    wait = touched + TOUCH_INTERVAL + 1 - time.monotonic()
    if wait > 0:
        print(f"  waiting {wait:.0f} s until the sampled sessions are due for renewal")
        time.sleep(wait)
    started = time.monotonic()
    refused = asyncio.run(seed_http.touch(url, cookies, user_agent=bench.user_agent))
    if refused:
        raise RuntimeError(f"{refused} of {len(cookies)} seeded sessions were refused")
    return started
