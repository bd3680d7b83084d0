"""The baseline that cannot move with coatcheck: a bare aiohttp handler answering the same
small JSON as bench/bare_app.py, but importing nothing of coatcheck (aiohttp's own runner,
uvloop, `access_log=None`). bench/bare_app.py runs through coatcheck's serving and request
log, so a slower shared path would raise every ratio to it; this one shows that.

    .venv/bin/python bench/plain_app.py --port 8001
"""

from __future__ import annotations

import argparse
import asyncio

import uvloop
from aiohttp import web

BODY = {  # the shape and size of coatcheck's user JSON (as bench/bare_app.py)
    "id": "0b7f4c52-7d0c-4f55-9d53-4f1f6a1e2c3d",
    "email": "user000001pad@bench.test",
    "name": "Bench 000001",
    "createdAt": "2026-01-01T00:00:00.000000Z",
}
BACKLOG = 2048


async def who_am_i(request: web.Request) -> web.Response:
    return web.json_response(BODY)


def create_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/authentication", who_am_i)
    app.router.add_get("/health/ready", who_am_i)
    return app


def serve(app: web.Application, host: str, port: int) -> None:
    """aiohttp's runner on uvloop, no access log, until SIGINT or SIGTERM."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        web.run_app(
            app,
            host=host,
            port=port,
            access_log=None,
            backlog=BACKLOG,
            print=None,
            loop=runner.get_loop(),
        )


def parser(doc: str, port: int) -> argparse.ArgumentParser:
    """The command line of an app of bench/: its docstring's first line, --host, --port."""
    made = argparse.ArgumentParser(description=doc.splitlines()[0])
    made.add_argument("--host", default="127.0.0.1")
    made.add_argument("--port", type=int, default=port)
    return made


def main() -> None:
    given = parser(__doc__, 8001).parse_args()
    serve(create_app(), given.host, given.port)


if __name__ == "__main__":
    main()
