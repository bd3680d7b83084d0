"""The ceiling: what aiohttp plus one Redis read allows. A bare aiohttp handler that reads
the key its cookie names from Redis, the reads of one event-loop tick sharing one redis-py
MGET, and answers a fixed JSON (401 when the key is missing). It imports nothing of
coatcheck and is served as bench/plain_app.py is (uvloop, `access_log=None`).

    .venv/bin/python bench/ceiling_app.py --port 8002 --redis-url redis://127.0.0.1:6379/0 \
        --prefix coatcheck-bench:RUN:ceiling: --cookie __Host-coatcheck

The keys are written by bench/workloads.py (`Bench.seed_ceiling`): one per cookie wrk
rotates over, its value as long as a coatcheck session record.
"""

from __future__ import annotations

import asyncio

import redis.asyncio as redis
from aiohttp import web

from bench.plain_app import BODY, parser, serve

UNAUTHORISED = {"type": "about:blank", "title": "Unauthorized", "status": 401}
CLIENT: web.AppKey[redis.Redis] = web.AppKey("redis", redis.Redis)
BATCH: web.AppKey[TickBatch] = web.AppKey("batch", object)  # type: ignore[arg-type]


class TickBatch:
    """GETs asked for within one loop tick go to Redis as one MGET."""

    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        self._keys: list[str] = []
        self._waiters: list[asyncio.Future[bytes | None]] = []
        self._reading: set[asyncio.Task[None]] = set()  # held until done

    def get(self, key: str) -> asyncio.Future[bytes | None]:
        loop = asyncio.get_running_loop()
        if not self._keys:
            loop.call_soon(self._flush)
        waiter: asyncio.Future[bytes | None] = loop.create_future()
        self._keys.append(key)
        self._waiters.append(waiter)
        return waiter

    def _flush(self) -> None:
        keys, waiters = self._keys, self._waiters
        self._keys, self._waiters = [], []
        task = asyncio.ensure_future(self._read(keys, waiters))
        self._reading.add(task)
        task.add_done_callback(self._reading.discard)

    async def _read(self, keys: list[str], waiters: list[asyncio.Future[bytes | None]]) -> None:
        try:
            values = await self._client.mget(keys)
        except Exception as error:  # every waiter hears of it
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(error)
            return
        for waiter, value in zip(waiters, values, strict=True):
            if not waiter.done():
                waiter.set_result(value)


def create_app(redis_url: str, prefix: str, cookie: str) -> web.Application:
    app = web.Application()

    async def who_am_i(request: web.Request) -> web.Response:
        ticket = request.cookies.get(cookie)
        if ticket and await app[BATCH].get(prefix + ticket) is not None:
            return web.json_response(BODY)
        return web.json_response(UNAUTHORISED, status=401)

    async def ready(request: web.Request) -> web.Response:
        await app[CLIENT].ping()
        return web.json_response({"status": "ready"})

    async def connect(app: web.Application) -> None:
        client = redis.Redis.from_url(redis_url, max_connections=64)
        app[CLIENT] = client
        app[BATCH] = TickBatch(client)

    async def close(app: web.Application) -> None:
        await app[CLIENT].aclose()

    app.on_startup.append(connect)
    app.on_cleanup.append(close)
    app.router.add_get("/authentication", who_am_i)
    app.router.add_get("/health/ready", ready)
    return app


def main() -> None:
    arguments = parser(__doc__, 8002)
    arguments.add_argument("--redis-url", required=True)
    arguments.add_argument("--prefix", required=True, help="the keys' prefix; the ticket follows")
    arguments.add_argument("--cookie", required=True, help="the cookie's name")
    given = arguments.parse_args()
    serve(create_app(given.redis_url, given.prefix, given.cookie), given.host, given.port)


if __name__ == "__main__":
    main()
