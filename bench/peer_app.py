"""The peer: the straightforward build a Python team would write with the design card's
packages. aiohttp-session's stock RedisStorage keeps the session (one GET of the cookie's
key), the user is read through a pooled asyncpg connection (one query), uvloop, and the
same request log as bench/bare_app.py (both served by coatcheck.entrypoints.serving.run).
It answers GET /authentication as coatcheck does: the user's JSON, or a 401.

    .venv/bin/python -m bench.peer_app --port 8003 --database-url postgresql://... \
        --redis-url redis://127.0.0.1:6379/0 --cookie cbpeerRUN

Its sessions are written by bench/workloads.py (`Bench.seed_peer`) in aiohttp-session's
own format, `{cookie}_{uuid hex}` -> `{"created": ..., "session": {"user_id": ...}}`, for
the users coatcheck registered in the same database (table `users`).
"""

from __future__ import annotations

import uuid

import asyncpg
import redis.asyncio as redis
from aiohttp import web
from aiohttp_session import get_session, session_middleware
from aiohttp_session.redis_storage import RedisStorage

from bench.plain_app import parser
from coatcheck.entrypoints.logs import configure_logging
from coatcheck.entrypoints.serving import run

POOL: web.AppKey[asyncpg.Pool] = web.AppKey("pool", asyncpg.Pool)
USER = "SELECT id, email, name, created_at FROM users WHERE id = $1"
UNAUTHORISED = {"type": "about:blank", "title": "Unauthorized", "status": 401}
MAX_AGE = 14 * 24 * 3600


async def who_am_i(request: web.Request) -> web.Response:
    session = await get_session(request)
    user_id = session.get("user_id")
    if user_id is None:
        return web.json_response(UNAUTHORISED, status=401)
    row = await request.app[POOL].fetchrow(USER, uuid.UUID(user_id))
    if row is None:
        session.invalidate()
        return web.json_response(UNAUTHORISED, status=401)
    return web.json_response(
        {
            "id": str(row["id"]),
            "email": row["email"],
            "name": row["name"],
            "createdAt": row["created_at"].isoformat(),
        }
    )


async def ready(request: web.Request) -> web.Response:
    await request.app[POOL].fetchval("SELECT 1")
    return web.json_response({"status": "ready"})


def create_app(database_url: str, redis_url: str, cookie: str) -> web.Application:
    client = redis.Redis.from_url(redis_url)
    storage = RedisStorage(client, cookie_name=cookie, max_age=MAX_AGE, httponly=True)
    app = web.Application(middlewares=[session_middleware(storage)])

    async def connect(app: web.Application) -> None:
        app[POOL] = await asyncpg.create_pool(database_url, min_size=10, max_size=10)

    async def close(app: web.Application) -> None:
        await app[POOL].close()
        await client.aclose()

    app.on_startup.append(connect)
    app.on_cleanup.append(close)
    app.router.add_get("/authentication", who_am_i)
    app.router.add_get("/health/ready", ready)
    return app


def main() -> None:
    arguments = parser(__doc__, 8003)
    arguments.add_argument("--database-url", required=True)
    arguments.add_argument("--redis-url", required=True)
    arguments.add_argument("--cookie", required=True, help="the session cookie's name")
    given = arguments.parse_args()
    configure_logging("json")
    run(create_app(given.database_url, given.redis_url, given.cookie), given.host, given.port)


if __name__ == "__main__":
    main()
