"""`coatcheck serve` stopped by a signal while log-ins hash at bcrypt's real cost and event
sockets are open, in one process (the Dockerfile's command) and with `--workers 2`: the
listener closes, every request in flight is answered, every socket closes with 1001, and
each process logs one line of what it drained."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.faults import TCP_ESTABLISHED, loopback_sockets
from tests.integration.conftest import CREDENTIALS, REGISTRATION, shared_stores_environment
from tests.integration.http import bearer
from tests.integration.serving import coatcheck_process, output_of

LOG_INS = 20
SOCKETS = 5
GRACE_SECONDS = 30


def log_lines(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output_of(log).splitlines() if line.startswith("{")]


async def log_in(http: aiohttp.ClientSession, base: str) -> int:
    async with http.post(f"{base}/authentication/log-in", json=CREDENTIALS) as response:
        await response.read()
        return response.status


async def send_log_in(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A log-in, sent whole on a connection of its own; its answer is left to be read."""
    body = json.dumps(CREDENTIALS).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"POST /authentication/log-in HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    )
    await writer.drain()
    return reader, writer


async def read_by_the_server(port: int, connections: int, seconds: float = 10) -> None:
    """Until `connections` connections to the port are open with nothing left unread on the
    server's side (/proc/net/tcp: ESTABLISHED, receive queue empty): what was sent whole on
    them is in the server's hands, on a machine however loaded (a fixed sleep was not)."""
    loop = asyncio.get_running_loop()
    until = loop.time() + seconds
    while loop.time() < until:
        if _read_connections(port) >= connections:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"the server did not read {connections} requests in {seconds} s")


def _read_connections(port: int) -> int:
    return sum(
        state == TCP_ESTABLISHED and unread == 0 for state, unread, _ in loopback_sockets(port)
    )


async def close_code(socket: aiohttp.ClientWebSocketResponse) -> int | None:
    async for message in socket:
        if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
            break
    return socket.close_code


@pytest.mark.parametrize(
    ("options", "signum"),
    [
        pytest.param((), signal.SIGTERM, id="one-process-SIGTERM"),
        pytest.param((), signal.SIGINT, id="one-process-SIGINT"),
        pytest.param(("--workers", "2"), signal.SIGTERM, id="workers-SIGTERM"),
    ],
)
async def test_a_signal_drains_requests_in_flight_and_closes_sockets_going_away(
    postgres_dsn: str,
    redis_space: tuple[str, str],
    tmp_path: Path,
    options: tuple[str, ...],
    signum: signal.Signals,
) -> None:
    environment = shared_stores_environment(
        postgres_dsn,
        redis_space,
        tmp_path,
        BCRYPT_ROUNDS="12",
        LOGIN_THROTTLE="false",
        HASHING_DEADLINE="60",
        SHUTDOWN_GRACE=str(GRACE_SECONDS),
    )
    log = tmp_path / "server.log"
    serving = coatcheck_process(*options, env=environment, log=log)
    async with serving as (base, server), aiohttp.ClientSession() as http:
        async with http.post(f"{base}/authentication/register", json=REGISTRATION) as response:
            assert response.status == 201
        async with http.post(f"{base}/authentication/token", json=CREDENTIALS) as response:
            headers = bearer((await response.json())["token"])
        sockets = [
            await http.ws_connect(f"{base}/authentication/events", headers=headers)
            for _ in range(SOCKETS)
        ]
        for socket in sockets:
            assert (await socket.receive_json())["type"] == "ready"
        log_ins = [asyncio.create_task(log_in(http, base)) for _ in range(LOG_INS)]
        await asyncio.sleep(0.3)
        # What this client has not had answered yet; the server may have sent some of it.
        unanswered = sum(not task.done() for task in log_ins)
        os.kill(server.pid, signum)

        statuses = await asyncio.gather(*log_ins)
        codes = await asyncio.gather(*(close_code(socket) for socket in sockets))
        assert statuses == [200] * LOG_INS
        assert codes == [aiohttp.WSCloseCode.GOING_AWAY] * SOCKETS
        assert await asyncio.wait_for(server.wait(), GRACE_SECONDS) == 0
        with pytest.raises(aiohttp.ClientConnectionError):
            await log_in(http, base)  # nothing listens any more

    drained = [line for line in log_lines(log) if line.get("event") == "drained"]
    assert len(drained) == (2 if options else 1)
    # A log-in may be answered within the 0.3 s: the drained ones are those still in flight.
    assert 0 < sum(line["requests"] for line in drained) <= unanswered
    assert sum(line["sockets"] for line in drained) == SOCKETS
    assert all(line["cut_off"] == 0 and line["seconds"] < GRACE_SECONDS for line in drained)
    # Every request's line is written, before the line that says the drain is over (each
    # process writes its own first; the processes' lines interleave, so with workers: the last).
    lines = log_lines(log)
    requests = [at for at, line in enumerate(lines) if line.get("message") == "request"]
    drains = [at for at, line in enumerate(lines) if line.get("event") == "drained"]
    routes = [lines[at].get("route") for at in requests]
    assert routes.count("/authentication/log-in") == LOG_INS
    assert routes.count("/authentication/events") == SOCKETS
    assert max(requests) < (max(drains) if options else min(drains))


async def test_what_outlives_the_grace_is_cut_off_and_counted(
    postgres_dsn: str, redis_space: tuple[str, str], tmp_path: Path
) -> None:
    environment = shared_stores_environment(
        postgres_dsn,
        redis_space,
        tmp_path,
        BCRYPT_ROUNDS="14",
        BCRYPT_THREADS="1",
        LOGIN_THROTTLE="false",
        HASHING_DEADLINE="60",
        SHUTDOWN_GRACE="0.5",
    )
    log = tmp_path / "server.log"
    serving = coatcheck_process(env=environment, log=log)
    async with serving as (base, server):
        port = int(base.rsplit(":", 1)[1])
        log_ins = [await send_log_in(port) for _ in range(3)]
        await read_by_the_server(port, len(log_ins))  # all three in flight, however slow
        os.kill(server.pid, signal.SIGTERM)
        for reader, writer in log_ins:
            await asyncio.wait_for(reader.read(), 10)  # cut off: whatever comes, then EOF
            writer.close()
        assert await asyncio.wait_for(server.wait(), 10) == 0

    (drained,) = [line for line in log_lines(log) if line.get("event") == "drained"]
    assert drained["cut_off"] == 3
    assert drained["seconds"] < 2
