"""What the HTTP tests say again and again: the session cookie as a browser receives it, the
headers that carry a ticket or a token, registering Ada and asking who she is."""

from __future__ import annotations

import asyncio

from aiohttp import ClientResponse

from coatcheck.entrypoints.http.keys import SERVICES
from tests.integration.conftest import CREDENTIALS, REGISTRATION, Client

COOKIE = "coatcheck"
RAW_TIMEOUT_SECONDS = 10.0


def set_cookies(response: ClientResponse) -> dict[str, dict[str, str]]:
    """Set-Cookie headers by cookie name: the value under "", attributes lower-cased
    (flags such as HttpOnly map to "")."""
    cookies = {}
    for header in response.headers.getall("Set-Cookie", []):
        pair, *attributes = (part.strip() for part in header.split(";"))
        name, _, value = pair.partition("=")
        cookie = {"": value.strip('"')}
        for attribute in attributes:
            key, _, attribute_value = attribute.partition("=")
            cookie[key.lower()] = attribute_value
        cookies[name] = cookie
    return cookies


def cookie(ticket: str) -> dict[str, str]:
    """A Cookie header carrying exactly this ticket."""
    return {"Cookie": f"{COOKIE}={ticket}"}


def bearer(token: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


async def register(client: Client) -> ClientResponse:
    """Register Ada; the client's jar keeps her cookie."""
    response = await client.post("/authentication/register", json=REGISTRATION)
    assert response.status == 201
    return response


async def token(client: Client) -> str:
    """A bearer token for Ada."""
    response = await client.post("/authentication/token", json=CREDENTIALS)
    assert response.status == 200
    return str((await response.json())["token"])


async def who_am_i_with(client: Client, ticket: str) -> ClientResponse:
    """GET /authentication carrying exactly this ticket and nothing from the cookie jar."""
    client.session.cookie_jar.clear()
    return await client.get("/authentication", headers=cookie(ticket))


async def status_with_ticket(client: Client, ticket: str) -> int:
    return (await who_am_i_with(client, ticket)).status


async def status_with_token(client: Client, token: str) -> int:
    """Who am I, with this bearer token and nothing from the cookie jar."""
    client.session.cookie_jar.clear()
    return (await client.get("/authentication", headers=bearer(token))).status


async def settled(client: Client) -> None:
    """Wait for what the app does after its answers (letters, known devices) to be done."""
    await client.app[SERVICES].outbox.settle()


async def raw_exchange(port: int, request: bytes) -> bytes:
    """Send these bytes as they are to 127.0.0.1:port; everything the server answers until
    it closes the connection (send `Connection: close`)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), RAW_TIMEOUT_SECONDS)
    finally:
        writer.close()


def status_of(answer: bytes) -> int:
    return int(answer.split(b"\r\n", 1)[0].split()[1])
