"""/metrics on a listener of its own (issue 18, item 2): by default on loopback, apart from
the API, which no longer answers them; with `--workers N` one port answers for every process,
each series summed."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from coatcheck.entrypoints.settings import METRICS_PORT
from tests.faults import TCP_LISTEN, free_port, loopback_sockets
from tests.integration.conftest import MakeClient, MakeSettings, shared_stores_environment
from tests.integration.http import raw_exchange, status_of
from tests.integration.serving import coatcheck_process, coatcheck_serve

REQUESTS = 30


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one series in an exposition; 0 if it is not there yet."""
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and labels.items() <= found.labels.items():
                return found.value
    return 0.0


async def test_by_default_metrics_are_on_a_loopback_listener_of_their_own_not_the_api(
    make_client: MakeClient, shared_settings: MakeSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("METRICS_PORT")
    default = shared_settings()
    assert (default.metrics_port, default.metrics_host) == (METRICS_PORT, "127.0.0.1")

    port = free_port()  # the default's own listener, on a port no other test holds
    client = await make_client(default.model_copy(update={"metrics_port": port}))

    assert (await client.get("/metrics")).status == 404
    assert (await client.get("/health/live")).status == 200
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/metrics") as got:
        assert got.status == 200
        text = await got.text()
    assert sample(text, "coatcheck_http_requests_total", route="/health/live") == 1.0


async def test_the_listener_answers_what_it_refuses_as_the_api_does(
    make_client: MakeClient, shared_settings: MakeSettings
) -> None:
    port = free_port()
    await make_client(shared_settings().model_copy(update={"metrics_port": port}))
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/secret-path?ticket=abcdef") as wrong_path:
            assert wrong_path.status == 404
            assert wrong_path.content_type == "application/problem+json"
            assert wrong_path.headers["Server"] == "coatcheck"
            assert wrong_path.headers["Cache-Control"] == "no-store"
            body = await wrong_path.text()
        async with http.post(f"{base}/metrics") as wrong_method:
            assert wrong_method.status == 405
            assert wrong_method.content_type == "application/problem+json"
            assert wrong_method.headers["Server"] == "coatcheck"
            assert (await wrong_method.json(content_type=None))["status"] == 405
        async with http.get(f"{base}/metrics") as metrics:
            assert metrics.status == 200
            assert metrics.headers["Server"] == "coatcheck"
    assert "secret" not in body
    assert "abcdef" not in body


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GARBAGE ticket-abcdef\r\n\r\n", 400),
        (b"GET /metrics HTTP/1.1\r\nX-Big: ticket-abcdef" + b"A" * 9000 + b"\r\n\r\n", 431),
    ],
    ids=["unreadable", "over-long-header"],
)
async def test_the_listener_refuses_what_it_cannot_read_as_the_api_does(
    make_client: MakeClient, shared_settings: MakeSettings, request_bytes: bytes, status: int
) -> None:
    port = free_port()
    await make_client(shared_settings().model_copy(update={"metrics_port": port}))

    answer = await raw_exchange(port, request_bytes)

    assert status_of(answer) == status
    head = answer.partition(b"\r\n\r\n")[0].lower()
    assert b"\r\nserver: coatcheck\r\n" in head
    assert b"\r\ncontent-type: application/problem+json" in head
    assert b"ticket-abcdef" not in answer
    assert b"aiohttp" not in answer


async def test_the_listener_closes_a_connection_that_owes_its_head_as_the_api_does(
    make_client: MakeClient, shared_settings: MakeSettings
) -> None:
    port = free_port()
    settings = shared_settings().model_copy(
        update={"metrics_port": port, "request_head_timeout": 0.5}
    )
    await make_client(settings)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")  # and never the rest
        # closed by its sweep (a second at most past the timeout), unanswered
        assert await asyncio.wait_for(reader.read(), 5) == b""
    finally:
        writer.close()


async def test_an_operator_may_put_them_on_the_api_port(
    make_client: MakeClient, shared_settings: MakeSettings
) -> None:
    client = await make_client(shared_settings(metrics_port="api"))
    assert (await client.get("/metrics")).status == 200


async def scrape(url: str) -> str:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        assert response.status == 200
        return await response.text()


async def test_with_two_workers_one_port_answers_for_both_every_request_counted_once(
    postgres_dsn: str, redis_space: tuple[str, str], tmp_path: Path
) -> None:
    metrics_port = free_port()
    environment = shared_stores_environment(
        postgres_dsn, redis_space, tmp_path, METRICS_PORT=str(metrics_port)
    )
    serving = coatcheck_serve("--workers", "2", env=environment, log=tmp_path / "server.log")
    async with serving as base:
        url = f"http://127.0.0.1:{metrics_port}/metrics"
        before = await scrape(url)
        for _ in range(REQUESTS):  # each on a fresh connection: the kernel spreads them
            async with aiohttp.ClientSession() as fresh, fresh.get(f"{base}/health/live") as got:
                assert got.status == 200
        after = await scrape(url)
        async with aiohttp.ClientSession() as http, http.get(f"{base}/metrics") as on_api:
            assert on_api.status == 404

    assert sample(after, "coatcheck_metrics_processes") == 2.0
    counted = [
        sample(text, "coatcheck_http_requests_total", route="/health/live", status="200")
        for text in (before, after)
    ]
    assert counted[1] - counted[0] == REQUESTS


def _listening_inode(port: int) -> str:
    """The socket inode of what listens on 127.0.0.1:port."""
    for state, _, inode in loopback_sockets(port):
        if state == TCP_LISTEN:
            return inode
    raise AssertionError(f"nothing listens on {port}")


def _holders(inode: str, group: int) -> list[int]:
    """The processes of a process group that hold the socket of this inode open."""
    holders = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            pgrp = int(stat.read_text().rsplit(")", 1)[1].split()[2])
            held = pgrp == group and any(
                os.readlink(fd) == f"socket:[{inode}]" for fd in (stat.parent / "fd").iterdir()
            )
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue  # gone meanwhile
        if held:
            holders.append(int(stat.parent.name))
    return holders


async def test_with_workers_only_the_arbiter_holds_the_metrics_port(
    postgres_dsn: str, redis_space: tuple[str, str], tmp_path: Path
) -> None:
    """A worker forked holding the arbiter's listener kept its port open (past the arbiter's
    end, until the worker's own)."""
    metrics_port = free_port()
    environment = shared_stores_environment(
        postgres_dsn, redis_space, tmp_path, METRICS_PORT=str(metrics_port)
    )
    serving = coatcheck_process("--workers", "2", env=environment, log=tmp_path / "server.log")
    async with serving as (_, server):
        await scrape(f"http://127.0.0.1:{metrics_port}/metrics")
        holders = _holders(_listening_inode(metrics_port), server.pid)

    assert holders == [server.pid]
