"""A store's outage is one `store_down` line, with the true cause, and one `store_up` line
once it has answered steadily again, however many requests it fails and answers in between;
/metrics counts every failed operation."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import asyncpg
import pytest

from coatcheck.adapters.store_watch import STEADY_SECONDS
from tests.faults import RedisServer, redis_server
from tests.integration.conftest import Client, MakeClient, MakeSettings
from tests.integration.load import traffic, until_all_served

LOOSE_THROTTLE = {"throttle_address_limit": 1_000_000, "register_throttle_limit": 1_000_000}


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


def store_lines(caplog: pytest.LogCaptureFixture, store: str) -> list[logging.LogRecord]:
    return [
        record
        for record in caplog.records
        if getattr(record, "event", None) in ("store_down", "store_up")
        and getattr(record, "store", None) == store
    ]


async def store_errors(client: Client, store: str) -> float:
    async with client.get("/metrics") as response:
        text = await response.text()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("coatcheck_store_errors_total{") and f'store="{store}"' in line
    )


async def test_redis_out_of_memory_under_traffic_is_one_down_and_one_up_line(
    make_client: MakeClient,
    shared_settings: MakeSettings,
    own_redis: RedisServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="coatcheck.store")
    client = await make_client(shared_settings(redis_url=own_redis.url, **LOOSE_THROTTLE))
    async with traffic(client) as flow:
        await asyncio.sleep(0.5)
        await asyncio.to_thread(own_redis.out_of_memory)
        await asyncio.sleep(2.0)
        await asyncio.to_thread(own_redis.memory_back)
        await until_all_served(flow)
        await asyncio.sleep(STEADY_SECONDS + 0.5)
    failed = [a for a in flow.answers if a.status == 503]
    assert failed, "no request met the fault"

    lines = store_lines(caplog, "sessions")
    assert [line.event for line in lines] == ["store_down", "store_up"]  # type: ignore[attr-defined]
    down, up = lines
    assert down.cause == "out-of-memory"  # type: ignore[attr-defined]
    assert down.address == own_redis.url.split("//")[1].split("/")[0]  # type: ignore[attr-defined]
    assert up.failed_operations == await store_errors(client, "sessions")  # type: ignore[attr-defined]
    assert up.failed_operations >= 1  # type: ignore[attr-defined]


async def test_an_unmigrated_database_is_one_down_line_that_says_so(
    client: Client, postgres_dsn: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="coatcheck.store")
    async with client.get("/health/ready") as response:
        assert response.status == 200
    connection = await asyncpg.connect(postgres_dsn)
    try:
        await connection.execute("DROP TABLE users CASCADE")
    finally:
        await connection.close()
    for _ in range(5):
        async with client.get("/health/ready") as response:
            assert response.status == 503
        await asyncio.sleep(STEADY_SECONDS / 4)
    lines = store_lines(caplog, "users")
    assert [line.event for line in lines] == ["store_down"]  # type: ignore[attr-defined]
    assert lines[0].cause == "not-migrated"  # type: ignore[attr-defined]
    assert await store_errors(client, "users") == 5
