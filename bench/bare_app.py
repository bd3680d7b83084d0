"""The baseline: a bare aiohttp handler answering a small JSON body, served the way
`coatcheck serve` serves (one process, `web.run_app(app, host=..., port=...)`, aiohttp's
access log on, the CLI's logging set-up), so that a ratio to it measures coatcheck alone.

    .venv/bin/python bench/bare_app.py --port 8001 [--loop asyncio|uvloop] [--no-access-log]

`--loop` must name the event loop coatcheck runs on (bench/run passes the same to both).
"""

from __future__ import annotations

import argparse
import asyncio
import logging

from aiohttp import web

BODY = {  # the shape and size of coatcheck's user JSON
    "id": "0b7f4c52-7d0c-4f55-9d53-4f1f6a1e2c3d",
    "email": "user000001pad@bench.test",
    "name": "Bench 000001",
    "createdAt": "2026-01-01T00:00:00.000000Z",
}


async def who_am_i(request: web.Request) -> web.Response:
    return web.json_response(BODY)


def create_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/authentication", who_am_i)
    app.router.add_get("/health/ready", who_am_i)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    parser.add_argument("--no-access-log", action="store_true")
    arguments = parser.parse_args()
    # As entrypoints/cli.py does: INFO to stderr, so the access log is written.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    loop = None
    if arguments.loop == "uvloop":
        try:
            import uvloop
        except ImportError:
            raise SystemExit("bare_app: --loop uvloop needs the uvloop package") from None
        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    access_log = None if arguments.no_access_log else web.access_logger
    web.run_app(
        create_app(), host=arguments.host, port=arguments.port, loop=loop, access_log=access_log
    )


if __name__ == "__main__":
    main()
