"""Real PostgreSQL and Redis for tests: a database and a key space of their own each,
made and dropped by the test. Under CI=true a missing service fails the test; elsewhere
it skips it."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as redis

POSTGRES_ADMIN_DSN = os.environ.get(
    "TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def service_missing(what: str, error: BaseException) -> None:
    message = f"{what} is not reachable ({type(error).__name__})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


async def fresh_database() -> AsyncIterator[str]:
    """A new, empty database; its DSN is yielded and the database dropped afterwards."""
    name = f"coatcheck_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=5)
    except (OSError, asyncpg.PostgresError) as error:
        service_missing("PostgreSQL", error)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield POSTGRES_ADMIN_DSN.rsplit("/", 1)[0] + "/" + name
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def fresh_redis_prefix() -> AsyncIterator[tuple[str, str]]:
    """A key prefix no one else uses; yields (url, prefix) and deletes its keys afterwards."""
    prefix = f"coatcheck-test:{uuid.uuid4().hex[:12]}:"
    client = redis.Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (OSError, redis.RedisError) as error:
        await client.aclose()
        service_missing("Redis", error)
    try:
        yield REDIS_URL, prefix
        keys = [key async for key in client.scan_iter(match=prefix + "*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


def _free_cluster_port() -> int:
    """A port that is free, and whose cluster bus port (+10000) is free too."""
    for _ in range(100):
        port = random.randrange(20000, 30000)
        try:
            for candidate in (port, port + 10000):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", candidate))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair for a Redis Cluster node")


def _wait_for(port: int, command: list[str], ready: tuple[str, ...], what: str) -> None:
    """Until `redis-cli -p PORT COMMAND` prints one of `ready` (20 s at most)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        info = subprocess.run(
            ["redis-cli", "-p", str(port), *command],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        if any(mark in info for mark in ready):
            return
        time.sleep(0.1)
    raise RuntimeError(f"the test Redis Cluster: {what}")


def _wait_for_cluster(port: int) -> None:
    _wait_for(port, ["cluster", "info"], ("cluster_state:ok",), "no cluster_state:ok")


def _wait_for_replication(port: int) -> None:
    """A replica has its primary's data (a primary has nothing to wait for)."""
    ready = ("role:master", "master_link_status:up")
    _wait_for(port, ["info", "replication"], ready, "a replica did not catch up")


@contextlib.contextmanager
def redis_cluster(folder: Path, nodes: int = 3) -> Iterator[str]:
    """A Redis Cluster of our own (three primaries on loopback, nothing on disk), yielding
    the URL of one node; every node is shut down afterwards."""
    with redis_cluster_nodes(folder, nodes) as ports:
        yield f"redis://127.0.0.1:{ports[0]}/0"


@contextlib.contextmanager
def redis_cluster_nodes(
    folder: Path, nodes: int = 3, replicas: int = 0, node_timeout_ms: int = 15000
) -> Iterator[list[int]]:
    """A Redis Cluster of our own on loopback, nothing on disk, `replicas` replicas to each
    primary; yields the nodes' ports and shuts every node down afterwards."""
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        service_missing("Redis Cluster", FileNotFoundError("redis-server"))
    ports = []
    try:
        for _ in range(nodes):
            port = _free_cluster_port()
            node = folder / str(port)
            node.mkdir(parents=True)
            subprocess.run(
                [
                    "redis-server",
                    "--port",
                    str(port),
                    "--bind",
                    "127.0.0.1",
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    str(node / "nodes.conf"),
                    "--cluster-node-timeout",
                    str(node_timeout_ms),
                    "--dir",
                    str(node),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--daemonize",
                    "yes",
                    "--logfile",
                    str(node / "redis.log"),
                ],
                check=True,
            )
            ports.append(port)
        subprocess.run(
            [
                "redis-cli",
                "--cluster",
                "create",
                *(f"127.0.0.1:{port}" for port in ports),
                "--cluster-replicas",
                str(replicas),
                "--cluster-yes",
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )
        for port in ports:
            _wait_for_cluster(port)
            if replicas:
                _wait_for_replication(port)
        yield ports
    finally:
        for port in ports:
            subprocess.run(
                ["redis-cli", "-p", str(port), "shutdown", "nosave"],
                capture_output=True,
                check=False,
                timeout=10,
            )
