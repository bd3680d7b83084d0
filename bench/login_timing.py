"""Log-in timing: unknown email vs known email with a wrong password, interleaved in one run.

    .venv/bin/python -m bench.login_timing [--rounds 12] [--runs 15]
        [--database-url postgresql://...] [--redis-url redis://...]

Serves coatcheck on 127.0.0.1 (embedded SQLite in a temporary folder unless URLs are given;
with URLs, it registers one throwaway user and uses a random Redis prefix), logs in over
HTTP, and prints medians and their ratio. A timing oracle would show as a ratio far from 1.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

from aiohttp.test_utils import TestClient

from bench.served import add_store_arguments, served, store_name


async def _timed(client: TestClient[Any, Any], body: dict[str, str]) -> float:
    started = time.perf_counter()
    response = await client.post("/authentication/log-in", json=body)
    elapsed = time.perf_counter() - started
    assert response.status == 401, response.status
    return elapsed


async def main(arguments: argparse.Namespace) -> None:
    settings = {"bcrypt_rounds": arguments.rounds, "login_throttle": False}
    unknown, wrong = [], []
    async with served(arguments, **settings) as (client, email):
        for _ in range(arguments.runs):
            unknown.append(
                await _timed(client, {"email": "nobody@example.com", "password": "guess1234"})
            )
            wrong.append(await _timed(client, {"email": email, "password": "guess1234"}))
    unknown_ms = statistics.median(unknown) * 1000
    wrong_ms = statistics.median(wrong) * 1000
    print(
        f"bcrypt cost {arguments.rounds}, {arguments.runs} interleaved log-ins of each kind,"
        f" {store_name(arguments)}"
    )
    print(f"unknown email:  median {unknown_ms:.1f} ms  (min {min(unknown) * 1000:.1f})")
    print(f"wrong password: median {wrong_ms:.1f} ms  (min {min(wrong) * 1000:.1f})")
    print(f"ratio unknown / wrong: {unknown_ms / wrong_ms:.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--runs", type=int, default=15)
    add_store_arguments(parser)
    asyncio.run(main(parser.parse_args()))
