"""The real `coatcheck serve` as a subprocess: started on a free port, waited for until it is
live, and stopped with every process it started. And, in process, aiohttp's test server
running an app as `coatcheck serve` does."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer, unused_port

from coatcheck.entrypoints.serving import ServiceRunner

COATCHECK = Path(sys.executable).with_name("coatcheck")
README_RUN_COMMAND = Path(__file__).parents[2] / "scripts" / "serve"
START_TIMEOUT_SECONDS = 20.0
STOP_TIMEOUT_SECONDS = 15.0


@asynccontextmanager
async def coatcheck_serve(
    *options: str,
    env: dict[str, str],
    log: Path,
    cwd: Path | None = None,
    program: tuple[str, ...] = (str(COATCHECK), "serve"),
) -> AsyncIterator[str]:
    """`PROGRAM --port PORT OPTIONS` (by default `coatcheck serve`), its output in `log`;
    yields its base URL once it is live. In a process group of its own, so that stopping it
    stops its workers too."""
    async with coatcheck_process(*options, env=env, log=log, cwd=cwd, program=program) as (
        base,
        _,
    ):
        yield base


@asynccontextmanager
async def coatcheck_process(
    *options: str,
    env: dict[str, str],
    log: Path,
    cwd: Path | None = None,
    program: tuple[str, ...] = (str(COATCHECK), "serve"),
) -> AsyncIterator[tuple[str, asyncio.subprocess.Process]]:
    """As coatcheck_serve, yielding the process too (for a test that signals it)."""
    port = unused_port()
    base = f"http://127.0.0.1:{port}"
    with log.open("wb") as output:
        server = await asyncio.create_subprocess_exec(
            *program,
            "--port",
            str(port),
            *options,
            env=env,
            cwd=cwd,
            stdout=output,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        await wait_until_live(base, server, log)
        yield base, server
    finally:
        await stop(server)


def output_of(log: Path) -> str:
    """The server's output so far (a small file, read synchronously)."""
    return log.read_text()


async def wait_until_live(base: str, server: asyncio.subprocess.Process, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if server.returncode is not None:
                raise AssertionError(f"coatcheck serve exited:\n{output_of(log)}")
            try:
                async with http.get(f"{base}/health/live") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"coatcheck serve was not live in time:\n{output_of(log)}")


async def stop(server: asyncio.subprocess.Process) -> None:
    """SIGTERM to the server's process group; SIGKILL if it has not ended in time."""
    try:
        os.killpg(server.pid, signal.SIGTERM)
    except ProcessLookupError:  # the whole group has ended already
        return
    try:
        await asyncio.wait_for(server.wait(), STOP_TIMEOUT_SECONDS)
    except TimeoutError:
        os.killpg(server.pid, signal.SIGKILL)
        await server.wait()


class ServiceTestServer(TestServer):
    """aiohttp's test server, its app run through coatcheck's ServiceRunner."""

    async def _make_runner(self, **kwargs: Any) -> web.BaseRunner:
        return ServiceRunner(self.app, **kwargs)
