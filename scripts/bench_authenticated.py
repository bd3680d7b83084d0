"""The authenticated hot path against a bare aiohttp handler, in one run on one machine.

    .venv/bin/python scripts/bench_authenticated.py [--requests 2000] [--runs 5]
        [--database-url postgresql://.../a_scratch_database] [--redis-url redis://...]

Serves, on 127.0.0.1, a bare aiohttp app (one handler answering a small JSON) and coatcheck
(embedded SQLite in a temporary folder unless URLs are given; with URLs it uses a random
Redis prefix, deleted at the end, and registers one throwaway user). Times sequential
keep-alive requests: the bare handler, GET /health/live (coatcheck's middlewares), and
GET /authentication with a cookie (ticket check + user look-up). Prints medians of the runs
in requests per second and each one's cost relative to the bare handler.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from benchmarking import add_store_arguments, served, store_name


async def _bare(request: web.Request) -> web.Response:
    return web.json_response({"id": "1", "email": "ada@example.com", "name": "Ada"})


async def _rate(client: TestClient[Any, Any], path: str, requests: int) -> float:
    started = time.perf_counter()
    for _ in range(requests):
        async with client.get(path) as response:
            await response.read()
            assert response.status == 200, response.status
    return requests / (time.perf_counter() - started)


async def main(arguments: argparse.Namespace) -> None:
    bare = web.Application()
    bare.router.add_get("/", _bare)
    rates: dict[str, list[float]] = {"bare": [], "live": [], "authenticated": []}
    async with (
        TestClient(TestServer(bare, host="127.0.0.1")) as plain,
        served(arguments, bcrypt_rounds=4) as (app, _email),
    ):
        for _ in range(arguments.runs):
            rates["bare"].append(await _rate(plain, "/", arguments.requests))
            rates["live"].append(await _rate(app, "/health/live", arguments.requests))
            rates["authenticated"].append(await _rate(app, "/authentication", arguments.requests))
    print(
        f"{arguments.runs} runs x {arguments.requests} sequential requests, {store_name(arguments)}"
    )
    bare_rate = statistics.median(rates["bare"])
    for name, values in rates.items():
        rate = statistics.median(values)
        print(
            f"{name:>14}: {rate:8.0f} req/s  {1000 / rate:6.3f} ms/req  "
            f"cost x{bare_rate / rate:.2f} of bare"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    add_store_arguments(parser)
    asyncio.run(main(parser.parse_args()))
