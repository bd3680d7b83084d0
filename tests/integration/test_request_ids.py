"""`coatcheck serve --workers 2`: request ids are unique across the processes (each draws its
own prefix after the fork), and every line the service writes, gunicorn's own included, is
one JSON object."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import aiohttp

from tests.integration.conftest import shared_stores_environment
from tests.integration.serving import coatcheck_serve, output_of

REQUESTS = 60
SPREAD_SECONDS = 30.0


def prefixes(ids: list[str]) -> set[str]:
    return {request_id.rsplit("-", 1)[0] for request_id in ids}


async def fresh_id(base: str) -> str:
    async with aiohttp.ClientSession() as fresh, fresh.get(f"{base}/health/live") as response:
        return response.headers["X-Request-ID"]


async def test_request_ids_are_unique_across_worker_processes_and_every_line_is_json(
    postgres_dsn: str, redis_space: tuple[str, str], tmp_path: Path
) -> None:
    environment = shared_stores_environment(postgres_dsn, redis_space, tmp_path)
    log = tmp_path / "server.log"
    ids: list[str] = []
    async with coatcheck_serve("--workers", "2", env=environment, log=log) as base:
        # Fresh connections, 20 at a time, until both workers have answered (the kernel
        # spreads connections over them, but a loaded machine may give one many in a row).
        deadline = time.monotonic() + SPREAD_SECONDS
        while len(ids) < REQUESTS or (len(prefixes(ids)) < 2 and time.monotonic() < deadline):
            ids += await asyncio.gather(*(fresh_id(base) for _ in range(20)))
    assert len(set(ids)) == len(ids)
    assert len(prefixes(ids)) == 2  # one per worker process, both served
    assert all(len(prefix) == 12 for prefix in prefixes(ids))  # 48 random bits each

    lines = output_of(log).splitlines()
    entries = [json.loads(line) for line in lines]  # every line, gunicorn's too
    gunicorn = [entry for entry in entries if entry["logger"].startswith("gunicorn")]
    assert any("Booting worker" in entry["message"] for entry in gunicorn)
    assert sum(entry["logger"] == "coatcheck.request" for entry in entries) >= REQUESTS
