"""`coatcheck serve --workers 2` on PostgreSQL and Redis: every process honours every
session and every log-out, whichever process handled the request that made it."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import aiohttp

from tests.integration.conftest import REGISTRATION, SESSION_SECRET

COATCHECK = Path(sys.executable).with_name("coatcheck")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _wait_until_live(base: str, deadline_seconds: float = 20) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(int(deadline_seconds * 10)):
            try:
                async with http.get(f"{base}/health/live") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("coatcheck did not come up")


async def test_two_worker_processes_share_sessions_and_log_outs(
    postgres_dsn: str, redis_space: tuple[str, str], tmp_path: Path
) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "DATABASE_URL": postgres_dsn,
        "REDIS_URL": redis_space[0],
        "REDIS_PREFIX": redis_space[1],
        "SESSION_SECRET": SESSION_SECRET,
        "BCRYPT_ROUNDS": "4",
        "DATA_DIR": str(tmp_path),
    }
    server = await asyncio.create_subprocess_exec(
        str(COATCHECK),
        "serve",
        "--port",
        str(port),
        "--workers",
        "2",
        env=environment,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        await _wait_until_live(base)
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{base}/authentication/token", json=REGISTRATION) as response:
                assert response.status == 401
            async with http.post(f"{base}/authentication/register", json=REGISTRATION) as reply:
                assert reply.status == 201
            async with http.post(f"{base}/authentication/token", json=REGISTRATION) as response:
                token = (await response.json())["token"]
            bearer = {"Authorization": f"Bearer {token}"}
            # Fresh connections, so the kernel spreads them over both processes.
            statuses = []
            for _ in range(20):
                async with (
                    aiohttp.ClientSession() as fresh,
                    fresh.get(f"{base}/authentication", headers=bearer) as response,
                ):
                    statuses.append(response.status)
            assert statuses == [200] * 20
            async with http.post(f"{base}/authentication/log-out", headers=bearer) as response:
                assert response.status == 204
            statuses = []
            for _ in range(20):
                async with (
                    aiohttp.ClientSession() as fresh,
                    fresh.get(f"{base}/authentication", headers=bearer) as response,
                ):
                    statuses.append(response.status)
            assert statuses == [401] * 20
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(server.wait(), 15)
        except TimeoutError:
            os.killpg(server.pid, signal.SIGKILL)
            await server.wait()
