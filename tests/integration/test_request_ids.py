"""`coatcheck serve --workers 2`: request ids are unique across the processes (each draws its
own prefix after the fork), and every line the service writes, gunicorn's own included, is
one JSON object."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp

from tests.integration.conftest import shared_stores_environment
from tests.integration.serving import coatcheck_serve, output_of

REQUESTS = 60


async def test_request_ids_are_unique_across_worker_processes_and_every_line_is_json(
    postgres_dsn: str, redis_space: tuple[str, str], tmp_path: Path
) -> None:
    environment = shared_stores_environment(postgres_dsn, redis_space, tmp_path)
    log = tmp_path / "server.log"
    ids = []
    async with coatcheck_serve("--workers", "2", env=environment, log=log) as base:
        for _ in range(REQUESTS):  # fresh connections: the kernel spreads them over both
            async with (
                aiohttp.ClientSession() as fresh,
                fresh.get(f"{base}/health/live") as response,
            ):
                ids.append(response.headers["X-Request-ID"])
    assert len(set(ids)) == REQUESTS
    prefixes = {request_id.rsplit("-", 1)[0] for request_id in ids}
    assert len(prefixes) == 2  # one per worker process, both served
    assert all(len(prefix) == 12 for prefix in prefixes)  # 48 random bits each

    lines = output_of(log).splitlines()
    entries = [json.loads(line) for line in lines]  # every line, gunicorn's too
    gunicorn = [entry for entry in entries if entry["logger"].startswith("gunicorn")]
    assert any("Booting worker" in entry["message"] for entry in gunicorn)
    assert sum(entry["logger"] == "coatcheck.request" for entry in entries) >= REQUESTS
