"""Readiness and store lines on a Redis Cluster (three primaries, three replicas, of the
test's own) losing a primary under traffic: readiness names the lost primary within a second
and stays 200 while the other primaries take writes (503 with READY_EVERY_PRIMARY); the
outage is one `store_down` naming the node that died, not the seed, and one `store_up`."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest

from coatcheck.adapters.store_watch import STEADY_SECONDS
from tests.integration.conftest import Client, MakeClient, MakeSettings
from tests.integration.load import traffic, until_all_served
from tests.integration.test_cluster_failover import (
    _kill,
    _primaries,
    _until_promoted,
    cluster_with_replicas,
)
from tests.integration.test_store_lines import store_lines

__all__ = ["cluster_with_replicas"]  # the fixture, used here
pytestmark = pytest.mark.faults


async def readiness(client: Client) -> tuple[int, dict[str, Any]]:
    async with client.get("/health/ready") as response:
        return response.status, await response.json()


async def test_losing_a_primary_is_named_by_readiness_and_one_pair_of_store_lines(
    make_client: MakeClient,
    shared_settings: MakeSettings,
    cluster_with_replicas: list[int],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="coatcheck.store")
    seed = cluster_with_replicas[0]
    settings: dict[str, Any] = {
        "redis_url": f"redis://127.0.0.1:{seed}/0",
        "redis_cluster": True,
        "throttle_address_limit": 1_000_000,
        "register_throttle_limit": 1_000_000,
    }
    client = await make_client(shared_settings(**settings))
    strict = await make_client(shared_settings(**settings, ready_every_primary=True))
    status, body = await readiness(client)
    assert status == 200
    assert sorted(body["primaries"]) == sorted(f"127.0.0.1:{p}" for p in _primaries(seed))
    assert set(body["primaries"].values()) == {"ok"}

    async with traffic(client) as flow:
        await asyncio.sleep(1.0)
        lost = next(port for port in _primaries(seed) if port != seed)
        await asyncio.to_thread(_kill, lost)
        killed = time.monotonic()
        status, body = await readiness(client)
        assert time.monotonic() - killed < 1.0
        assert body["primaries"][f"127.0.0.1:{lost}"] == "unavailable"
        assert list(body["primaries"].values()).count("ok") == 2
        assert status == 200  # writes to the other primaries' slots still succeed
        before = len(caplog.records)
        assert (await readiness(strict))[0] == 503
        strict_lines = caplog.records[before:]  # the strict app's own watch: not counted
        await _until_promoted(seed, lost)
        await until_all_served(flow)
        await asyncio.sleep(STEADY_SECONDS + 0.5)
    assert any(a.status == 503 for a in flow.answers), "no request met the loss"

    lines = [line for line in store_lines(caplog, "sessions") if line not in strict_lines]
    events = [(line.event, line.address) for line in lines]  # type: ignore[attr-defined]
    assert events[0] == ("store_down", f"127.0.0.1:{lost}"), events
    assert [event for event, _ in events] == ["store_down", "store_up"], events
