"""A GET or HEAD that declares a body is answered at once with Connection: close, at the
socket: a proxy that drops such a body but passes its Content-Length or Transfer-Encoding on
(nginx's auth_request, misconfigured) sends its next request, maybe another client's, on
another connection, where it is never read as that body. Requests without a body keep
their connection."""

from __future__ import annotations

import asyncio

import pytest

from tests.integration.conftest import Client

LIVE = b"/health/live"
SECONDS = 1.0


async def exchange(port: int, request: bytes) -> tuple[bytes, bool]:
    """Send these bytes; everything answered until the server closes the connection or
    SECONDS pass, and whether it closed it."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    received = b""
    try:
        writer.write(request)
        await writer.drain()
        async with asyncio.timeout(SECONDS):
            while chunk := await reader.read(65536):
                received += chunk
    except TimeoutError:
        return received, False
    finally:
        writer.close()
    return received, True


def answers(received: bytes) -> list[bytes]:
    """The status line and headers of each answer (each of these answers has a small body)."""
    return [part.split(b"\r\n\r\n", 1)[0] for part in received.split(b"HTTP/1.1 ")[1:]]


def request(method: bytes, *headers: bytes) -> bytes:
    return b"\r\n".join(
        [method + b" " + LIVE + b" HTTP/1.1", b"Host: 127.0.0.1", *headers, b"\r\n"]
    )


@pytest.mark.parametrize("method", [b"GET", b"HEAD"])
@pytest.mark.parametrize("declared", [b"Content-Length: 9", b"Transfer-Encoding: chunked"])
async def test_a_bodiless_method_declaring_a_body_is_answered_at_once_with_connection_close(
    client: Client, method: bytes, declared: bytes
) -> None:
    assert client.port is not None
    # The body never comes: a proxy would send its next request once this one is answered.
    received, _ = await exchange(client.port, request(method, declared))

    (answer,) = answers(received)  # within SECONDS: at once, not after waiting for the body
    assert answer.startswith(b"200 ")
    assert b"\r\nConnection: close" in answer


async def test_requests_without_a_body_keep_their_connection(client: Client) -> None:
    assert client.port is not None
    pipelined = request(b"GET") + request(b"HEAD", b"Content-Length: 0") + request(b"GET")

    received, closed = await exchange(
        client.port, pipelined + request(b"GET", b"Connection: close")
    )

    found = answers(received)
    assert [answer[:4] for answer in found] == [b"200 "] * 4
    assert [b"Connection: close" in answer for answer in found] == [False, False, False, True]
    assert closed
