"""A Redis Cluster of three primaries and three replicas, of the test's own, loses a primary
under steady traffic: no 500; 503 only until its replica is promoted; then every live
session works again, with no restart."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import Client, MakeClient, MakeSettings
from tests.integration.load import traffic, until_all_served
from tests.services import redis_cluster_nodes

pytestmark = pytest.mark.faults
NODE_TIMEOUT_MS = 1000
PROMOTION_SECONDS = 20.0


def _cli(port: int, *command: str) -> str:
    done = subprocess.run(
        ["redis-cli", "-p", str(port), *command],
        capture_output=True,
        text=True,
        timeout=5,
        check=False,
    )
    return done.stdout


@pytest.fixture
def cluster_with_replicas(tmp_path: Path) -> Iterator[list[int]]:
    with redis_cluster_nodes(
        tmp_path, nodes=6, replicas=1, node_timeout_ms=NODE_TIMEOUT_MS
    ) as ports:
        yield ports


def _primaries(port: int) -> list[int]:
    lines = _cli(port, "CLUSTER", "NODES").splitlines()
    return [
        int(line.split()[1].split("@")[0].rsplit(":", 1)[1])
        for line in lines
        if "master" in line.split()[2] and "fail" not in line.split()[2]
    ]


def _kill(port: int) -> None:
    info = _cli(port, "INFO", "server")
    pid = next(
        int(line.split(":")[1]) for line in info.splitlines() if line.startswith("process_id")
    )
    os.kill(pid, signal.SIGKILL)


async def _until_promoted(survivor: int, lost: int) -> float:
    started = time.monotonic()
    while time.monotonic() - started < PROMOTION_SECONDS:
        info = await asyncio.to_thread(_cli, survivor, "CLUSTER", "INFO")
        primaries = await asyncio.to_thread(_primaries, survivor)
        if "cluster_state:ok" in info and len(primaries) == 3 and lost not in primaries:
            return time.monotonic() - started
        await asyncio.sleep(0.1)
    raise AssertionError("no replica was promoted in time")


async def test_losing_a_primary_gives_503s_only_until_its_replica_is_promoted(
    make_client: MakeClient, shared_settings: MakeSettings, cluster_with_replicas: list[int]
) -> None:
    seed = cluster_with_replicas[0]
    url = f"redis://127.0.0.1:{seed}/0"
    client: Client = await make_client(
        shared_settings(
            redis_url=url,
            redis_cluster=True,
            throttle_address_limit=1_000_000,
            register_throttle_limit=1_000_000,
        )
    )
    async with traffic(client) as flow:
        await asyncio.sleep(1.0)  # the sessions have reached the replicas
        lost = next(port for port in _primaries(seed) if port != seed)
        killed = time.monotonic()
        await asyncio.to_thread(_kill, lost)
        promoted_in = await _until_promoted(seed, lost)
        served_in = await until_all_served(flow)
        back = time.monotonic()
        await asyncio.sleep(0.5)
    statuses = {answer.status for answer in flow.answers}
    assert 500 not in statuses, statuses
    assert 0 not in statuses, statuses
    unavailable = [a for a in flow.answers if a.status == 503]
    assert all(killed <= a.started + a.took and a.started <= back for a in unavailable)
    assert all(a.status in (200, 201) for a in flow.since(back))
    worst = max(a.took for a in flow.answers)
    print(
        f"\nFAULT redis cluster primary killed: {len(flow.answers)} answers,"
        f" {len(unavailable)} x 503, promoted {promoted_in:.2f} s after the kill, every"
        f" session back {served_in:.2f} s later, worst latency {worst * 1000:.0f} ms"
    )
