"""Bytes no decoder expects, in any header a handler reads, are never a 500."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.integration.conftest import REGISTRATION, Client

HEADERS = ["User-Agent", "Origin", "Sec-Fetch-Site", "Cookie", "Authorization", "X-Forwarded-For"]


async def _raw_post(client: Client, path: str, header: bytes, body: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
    try:
        writer.write(
            b"POST " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\n" + header + b"\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body
        )
        await writer.drain()
        return await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()


@pytest.mark.parametrize("name", HEADERS)
async def test_undecodable_bytes_in_a_header_never_cause_a_500(client: Client, name: str) -> None:
    header = name.encode() + b": caf\xc3 \xff\xfe\x80 end"
    body = json.dumps(REGISTRATION).encode()
    for path in ("/authentication/register", "/authentication/log-in"):
        status_line = (await _raw_post(client, path, header, body)).split(b"\r\n", 1)[0]
        status = int(status_line.split()[1])
        assert 200 <= status < 500, (path, status_line)


async def test_a_user_agent_with_undecodable_bytes_is_stored_as_readable_text(
    client: Client,
) -> None:
    body = json.dumps(REGISTRATION).encode()
    response = await _raw_post(
        client, "/authentication/register", b"User-Agent: Mozilla \xff bad", body
    )
    assert response.startswith(b"HTTP/1.1 201")
    cookie = next(
        line.split(b":", 1)[1].split(b";", 1)[0].strip()
        for line in response.split(b"\r\n")
        if line.lower().startswith(b"set-cookie:")
    )
    listed = await client.get("/authentication/sessions", headers={"Cookie": cookie.decode()})
    assert listed.status == 200
    [session] = await listed.json()
    assert session["userAgent"] == "Mozilla \ufffd bad"
