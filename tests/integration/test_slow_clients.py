"""Slow clients against the real `coatcheck serve` (raw sockets on 127.0.0.1): a connection
that has not sent a whole request head within REQUEST_HEAD_TIMEOUT is closed, whether it
trickles its headers or sends nothing; one idle between requests is not; and a process
holds at most REQUEST_HEAD_LIMIT connections owing a head, the oldest closed first."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest

from tests.integration.serving import coatcheck_serve

HEAD_TIMEOUT = 1.0
SLOW_CLIENTS = 50
REQUEST = b"GET /health/live HTTP/1.1\r\nHost: localhost\r\n\r\n"
Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@pytest.fixture
async def base(tmp_path: Path) -> AsyncIterator[str]:
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "DATA_DIR": str(tmp_path / "data"),
        "BCRYPT_ROUNDS": "4",
        "REQUEST_HEAD_TIMEOUT": str(HEAD_TIMEOUT),
        "REQUEST_HEAD_LIMIT": "20",
        "METRICS_PORT": "api",  # not the default port, which another instance may hold
    }
    async with coatcheck_serve(env=environment, log=tmp_path / "server.log") as url:
        yield url


async def connect(base: str) -> Stream:
    address = urlsplit(base)
    assert address.hostname == "127.0.0.1"
    assert address.port is not None
    return await asyncio.open_connection(address.hostname, address.port)


async def closed_within(stream: Stream, seconds: float) -> bool:
    """Whether the server closes the connection within `seconds` (what it sends is read)."""
    reader, _ = stream
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            try:
                while await reader.read(4096):
                    pass
            except ConnectionError:
                pass
            return True
    return False


async def hang_up(*streams: Stream) -> None:
    for _, writer in streams:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def trickle(stream: Stream, data: bytes, every: float = 0.1) -> None:
    """Send a byte every `every` seconds until the server closes the connection."""
    _, writer = stream
    with contextlib.suppress(ConnectionError):
        for byte in data:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(every)


async def answered(base: str) -> bool:
    async with aiohttp.ClientSession() as http, http.get(f"{base}/health/live") as response:
        return response.status == 200


async def test_connections_trickling_their_headers_are_closed_after_the_head_timeout(
    base: str,
) -> None:
    streams = [await connect(base) for _ in range(SLOW_CLIENTS)]
    slow_head = b"GET /health/live HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + b"a" * 200
    tricklers = [asyncio.create_task(trickle(stream, slow_head)) for stream in streams]
    started = time.monotonic()
    assert await answered(base)  # the others are served meanwhile
    closed = await asyncio.gather(*(closed_within(stream, HEAD_TIMEOUT + 3) for stream in streams))
    assert all(closed)
    assert time.monotonic() - started >= HEAD_TIMEOUT * 0.9
    for task in tricklers:
        task.cancel()
    await hang_up(*streams)


async def test_a_connection_that_sends_nothing_is_closed_after_the_head_timeout(
    base: str,
) -> None:
    stream = await connect(base)
    assert not await closed_within(stream, HEAD_TIMEOUT * 0.5)
    assert await closed_within(stream, HEAD_TIMEOUT + 2)
    await hang_up(stream)


async def test_a_keep_alive_connection_is_closed_only_once_its_next_head_is_late(
    base: str,
) -> None:
    idle, trickling = await connect(base), await connect(base)
    for reader, writer in (idle, trickling):
        writer.write(REQUEST)
        assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200")
    task = asyncio.create_task(trickle(trickling, b"GET /health/live HTTP/1.1\r\nX: " + b"a" * 100))
    assert await closed_within(trickling, HEAD_TIMEOUT + 3)
    task.cancel()
    assert not await closed_within(idle, 0.5)  # idle between requests: not owing a head
    reader, writer = idle
    writer.write(REQUEST)
    assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200")
    await hang_up(idle, trickling)


async def test_past_the_limit_the_oldest_connections_owing_a_head_are_closed(base: str) -> None:
    streams = [await connect(base) for _ in range(40)]
    await asyncio.sleep(0.3)
    closed = await asyncio.gather(*(closed_within(stream, 0.2) for stream in streams))
    assert closed == [True] * 20 + [False] * 20  # the 20 oldest, at most 20 held
    assert await answered(base)
    await hang_up(*streams)
