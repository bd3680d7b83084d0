"""`coatcheck serve --workers 2` on PostgreSQL and Redis: every process honours every
session and every log-out, whichever process handled the request that made it."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from tests.integration.conftest import REGISTRATION, shared_stores_environment
from tests.integration.http import bearer
from tests.integration.serving import coatcheck_serve


async def statuses_on_fresh_connections(url: str, headers: dict[str, str]) -> list[int]:
    """GET the URL 20 times, each on a fresh connection, so the kernel spreads them over every
    worker process: the statuses."""
    statuses = []
    for _ in range(20):
        async with (
            aiohttp.ClientSession() as fresh,
            fresh.get(url, headers=headers) as response,
        ):
            statuses.append(response.status)
    return statuses


async def test_two_worker_processes_share_sessions_and_log_outs(
    postgres_dsn: str, redis_space: tuple[str, str], tmp_path: Path
) -> None:
    environment = shared_stores_environment(postgres_dsn, redis_space, tmp_path)
    serving = coatcheck_serve("--workers", "2", env=environment, log=tmp_path / "server.log")
    async with serving as base, aiohttp.ClientSession() as http:
        async with http.post(f"{base}/authentication/token", json=REGISTRATION) as response:
            assert response.status == 401
        async with http.post(f"{base}/authentication/register", json=REGISTRATION) as reply:
            assert reply.status == 201
        async with http.post(f"{base}/authentication/token", json=REGISTRATION) as response:
            headers = bearer((await response.json())["token"])
        statuses = await statuses_on_fresh_connections(f"{base}/authentication", headers)
        assert statuses == [200] * 20
        async with http.post(f"{base}/authentication/log-out", headers=headers) as response:
            assert response.status == 204
        statuses = await statuses_on_fresh_connections(f"{base}/authentication", headers)
        assert statuses == [401] * 20


async def test_workers_open_no_gunicorn_control_socket(
    postgres_dsn: str, redis_space: tuple[str, str], tmp_path: Path
) -> None:
    """gunicorn's control socket (its `gunicornc` interface: worker counts, shutdown) is not
    coatcheck's, and sits at one path per user: a second instance would take it over, and
    the first to stop would remove it."""
    home, runtime = tmp_path / "home", tmp_path / "run"
    home.mkdir()
    runtime.mkdir()
    environment = shared_stores_environment(
        postgres_dsn, redis_space, tmp_path, HOME=str(home), XDG_RUNTIME_DIR=str(runtime)
    )
    serving = coatcheck_serve("--workers", "2", env=environment, log=tmp_path / "server.log")
    async with serving as base, aiohttp.ClientSession() as http:
        async with http.get(f"{base}/health/live") as response:
            assert response.status == 200
        assert list(runtime.iterdir()) == []
        assert list(home.iterdir()) == []
