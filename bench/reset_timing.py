"""Password-reset timing: a known email vs an unknown one, interleaved in one run.

    .venv/bin/python -m bench.reset_timing [--runs 50] [--pause 0.02]
        [--database-url postgresql://...] [--redis-url redis://...]

Serves coatcheck on 127.0.0.1 (embedded SQLite in a temporary folder unless URLs are given),
sending its email over SMTP to aiosmtpd's sink in a process of its own (aiosmtpd is a
development dependency), asks for resets over HTTP (as many for the known email as for
unknown ones, in a random order), and prints the medians and their ratio. A timing oracle
would show as a ratio far from 1.

The known email's message really is written and sent after each answer: what that costs the
process lands on whatever request comes next, unless `--pause` leaves it time to finish. The
last line shows that cost: the medians of the requests that followed a known email and of
those that followed an unknown one.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp.test_utils import TestClient, unused_port

from bench.served import add_store_arguments, served, store_name

WARM_UP = 5


@asynccontextmanager
async def smtp_sink() -> AsyncIterator[int]:
    """aiosmtpd's Sink handler in a process of its own, as a real SMTP server would be (its
    work is not coatcheck's to time); yields its port."""
    port = unused_port()
    sink = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink"),
        *("-l", f"127.0.0.1:{port}"),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                _reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            break
        yield port
    finally:
        sink.terminate()
        await sink.wait()


async def _timed(client: TestClient[Any, Any], email: str) -> float:
    started = time.perf_counter()
    response = await client.post("/authentication/password-reset", json={"email": email})
    elapsed = time.perf_counter() - started
    assert response.status == 202, response.status
    return elapsed


Timings = dict[str, list[float]]  # by kind: "known", "unknown", "after known", "after unknown"


async def _measure(arguments: argparse.Namespace, port: int) -> Timings:
    settings = {
        "bcrypt_rounds": 4,
        "email_backend": "smtp",
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_tls": "none",
        "email_from": "bench <bench@example.com>",
        "public_base_url": "http://127.0.0.1",
        "email_throttle_recipient_limit": 3_600_000,  # letters spaced by 1 ms: each one goes
        "email_throttle_client_limit": 10 * arguments.runs,
    }
    timings: Timings = {"known": [], "unknown": [], "after known": [], "after unknown": []}
    async with served(arguments, **settings) as (client, email):
        for n in range(WARM_UP):
            await _timed(client, email)
            await _timed(client, f"warm-{n}@example.com")
        order = ["known", "unknown"] * arguments.runs
        random.shuffle(order)  # each kind follows either kind as often
        previous = None
        for n, kind in enumerate(order):
            elapsed = await _timed(client, email if kind == "known" else f"nobody-{n}@example.com")
            timings[kind].append(elapsed)
            if previous is not None:
                timings[f"after {previous}"].append(elapsed)
            previous = kind
            await asyncio.sleep(arguments.pause)
    return timings


async def main(arguments: argparse.Namespace) -> None:
    async with smtp_sink() as port:
        timings = await _measure(arguments, port)
    ms = {kind: statistics.median(times) * 1000 for kind, times in timings.items()}
    kinds = f"{arguments.runs} interleaved password-reset requests of each kind"
    print(f"{kinds} ({arguments.pause * 1000:.0f} ms apart), {store_name(arguments)}")
    for kind in ("known", "unknown"):
        low = min(timings[kind]) * 1000
        print(f"{kind + ' email:':15} median {ms[kind]:.3f} ms  (min {low:.3f})")
    print(f"ratio unknown / known: {ms['unknown'] / ms['known']:.3f}")
    print(
        f"the request after: a known email's {ms['after known']:.3f} ms,"
        f" an unknown one's {ms['after unknown']:.3f} ms"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--pause", type=float, default=0.0, help="seconds between requests")
    add_store_arguments(parser)
    asyncio.run(main(parser.parse_args()))
