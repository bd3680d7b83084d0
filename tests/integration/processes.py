"""Servers of the tests' own as subprocesses, from synchronous tests: started in a process
group of their own, waited for until they answer HTTP, stopped with everything they
started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from aiohttp.test_utils import unused_port

from tests.integration.conftest import SESSION_SECRET

START_SECONDS = 30.0
BIN = Path(sys.executable).parent


def _start(
    command: list[str], folder: Path, env: dict[str, str], log: Path
) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:
        return subprocess.Popen(
            command,
            cwd=folder,
            # Not the default metrics port, which another instance on this host may hold.
            env={"PATH": os.environ.get("PATH", ""), "METRICS_PORT": "api", **env},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _wait_until_up(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"exited:\n{log.read_text()}")
        try:
            httpx.get(base + "/", timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"not up in time:\n{log.read_text()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def serve(
    command: list[str], port: int, folder: Path, env: dict[str, str], log: Path
) -> Iterator[str]:
    """Runs `command` in `folder` with only PATH and `env` in its environment, its output in
    `log`; yields its base URL once GET / answers (any status), then stops it."""
    process = _start(command, folder, env, log)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process, log)
        yield base
    finally:
        _stop(process)


def coatcheck_serve(folder: Path, **env: str) -> Iterator[str]:
    """`coatcheck serve` on its embedded store in `folder`, plain-HTTP cookies, bcrypt at
    its cheapest; `env` adds to or overrides its environment."""
    port = unused_port()
    environment = {
        "SESSION_SECRET": SESSION_SECRET,
        "BCRYPT_ROUNDS": "4",
        "COOKIE_SECURE": "false",
        "DATA_DIR": str(folder / "data"),
        **env,
    }
    command = [str(BIN / "coatcheck"), "serve", "--port", str(port)]
    yield from serve(command, port, folder, environment, folder / "coatcheck.log")
