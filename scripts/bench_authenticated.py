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
import tempfile
import time
import uuid
from typing import Any

import redis.asyncio as redis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from entrypoints.http.app import create_app
from entrypoints.settings import load_settings


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
    prefix = f"coatcheck-bench:{uuid.uuid4().hex[:8]}:"
    with tempfile.TemporaryDirectory() as data_dir:
        settings: dict[str, Any] = {"bcrypt_rounds": 4, "cookie_secure": False}
        settings["data_dir"] = data_dir
        if arguments.database_url:
            settings |= {
                "database_url": arguments.database_url,
                "redis_url": arguments.redis_url,
                "redis_prefix": prefix,
                "session_secret": "bench-" + "x" * 40,
            }
        bare = web.Application()
        bare.router.add_get("/", _bare)
        async with (
            TestClient(TestServer(bare, host="127.0.0.1")) as plain,
            TestClient(TestServer(create_app(load_settings(**settings)), host="127.0.0.1")) as app,
        ):
            email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
            registered = await app.post(
                "/authentication/register",
                json={"email": email, "name": "Bench", "password": "the right password"},
            )
            assert registered.status == 201
            rates: dict[str, list[float]] = {"bare": [], "live": [], "authenticated": []}
            for _ in range(arguments.runs):
                rates["bare"].append(await _rate(plain, "/", arguments.requests))
                rates["live"].append(await _rate(app, "/health/live", arguments.requests))
                rates["authenticated"].append(
                    await _rate(app, "/authentication", arguments.requests)
                )
    if arguments.database_url:
        client = redis.Redis.from_url(arguments.redis_url)
        keys = [key async for key in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
    store = "PostgreSQL + Redis" if arguments.database_url else "embedded SQLite"
    print(f"{arguments.runs} runs x {arguments.requests} sequential requests, {store}")
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
    parser.add_argument("--database-url")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    asyncio.run(main(parser.parse_args()))
