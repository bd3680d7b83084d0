"""The baseline: a bare aiohttp handler answering a small JSON body, served by the very
function that serves coatcheck (coatcheck.entrypoints.serving.run: uvloop, the same
backlog, the same request log and logging), so that a ratio to it measures coatcheck alone.

    .venv/bin/python -m bench.bare_app --port 8001

Its twin bench/plain_app.py imports nothing of coatcheck; the ratio between the two shows
whether coatcheck's serving path moved.
"""

from __future__ import annotations

import argparse

from aiohttp import web

from bench.plain_app import BODY
from coatcheck.entrypoints.logs import configure_logging
from coatcheck.entrypoints.serving import run


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
    arguments = parser.parse_args()
    # Exactly as `coatcheck serve` does: its logging, its loop, its server settings.
    configure_logging("json")
    run(create_app(), arguments.host, arguments.port, "json")


if __name__ == "__main__":
    main()
