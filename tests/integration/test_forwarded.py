"""X-Forwarded-For and X-Forwarded-Proto are believed only from TRUSTED_PROXIES: then they
give the client address sessions and the throttle see, and the scheme the Origin check
compares with; from anyone else they change nothing."""

from __future__ import annotations

import json

import pytest
from multidict import CIMultiDict

from tests.integration.conftest import CREDENTIALS, REGISTRATION, Client, MakeClient, MakeSettings
from tests.integration.http import raw_exchange, status_of

CLIENT_ADDRESS = "203.0.113.7"
SOCKET_ADDRESS = "127.0.0.1"  # the test client's


async def session_address(client: Client, headers: dict[str, str]) -> str:
    """Register with the given headers; the address the new session was recorded with."""
    registered = await client.post("/authentication/register", json=REGISTRATION, headers=headers)
    assert registered.status == 201
    (session,) = await (await client.get("/authentication/sessions")).json()
    return str(session["ipAddress"])


async def test_without_trusted_proxies_x_forwarded_for_is_ignored(client: Client) -> None:
    address = await session_address(client, {"X-Forwarded-For": CLIENT_ADDRESS})

    assert address == SOCKET_ADDRESS


async def test_a_trusted_proxy_gives_the_session_the_forwarded_client_address(
    make_client: MakeClient, shared_settings: MakeSettings
) -> None:
    client = await make_client(shared_settings(trusted_proxies="127.0.0.1"))

    address = await session_address(client, {"X-Forwarded-For": CLIENT_ADDRESS})

    assert address == CLIENT_ADDRESS


async def test_the_client_address_is_the_last_hop_before_the_trusted_proxies(
    make_client: MakeClient, shared_settings: MakeSettings
) -> None:
    client = await make_client(shared_settings(trusted_proxies="127.0.0.1, 10.0.0.0/8"))
    # The client claims 198.51.100.9; the proxies recorded 203.0.113.7 and then 10.1.2.3.
    forwarded = f"198.51.100.9, {CLIENT_ADDRESS}, 10.1.2.3"

    address = await session_address(client, {"X-Forwarded-For": forwarded})

    assert address == CLIENT_ADDRESS


async def test_x_forwarded_for_sent_in_several_lines_is_read_as_one_list(
    make_client: MakeClient, shared_settings: MakeSettings
) -> None:
    """A proxy that adds its own line (HAProxy's `option forwardfor`) after a line the client
    sent: the client's line is no more believed than the same hop in a single line."""
    client = await make_client(shared_settings(trusted_proxies="127.0.0.1"))
    lines = CIMultiDict([("X-Forwarded-For", "198.51.100.9"), ("X-Forwarded-For", CLIENT_ADDRESS)])

    registered = await client.post("/authentication/register", json=REGISTRATION, headers=lines)
    (session,) = await (await client.get("/authentication/sessions")).json()

    assert registered.status == 201
    assert session["ipAddress"] == CLIENT_ADDRESS


@pytest.mark.parametrize(
    "forwarded",
    [
        "not-an-address",
        "",
        " , ",
        # A zone names an interface of whichever host wrote it: no client's address here.
        "fe80::1%eth0",
        f"{CLIENT_ADDRESS}, fe80::1%eth0",
        "fe80::1%25eth0",
        "::1%1",
    ],
)
async def test_a_trusted_proxy_without_a_usable_forwarded_address_leaves_the_socket_address(
    make_client: MakeClient, shared_settings: MakeSettings, forwarded: str
) -> None:
    client = await make_client(shared_settings(trusted_proxies="127.0.0.1"))

    address = await session_address(client, {"X-Forwarded-For": forwarded})

    assert address == SOCKET_ADDRESS


async def test_forwarded_https_from_a_trusted_proxy_makes_the_https_origin_same_origin(
    make_client: MakeClient, shared_settings: MakeSettings
) -> None:
    client = await make_client(shared_settings(trusted_proxies="127.0.0.1"))
    await client.post("/authentication/register", json=REGISTRATION)
    https = {"X-Forwarded-Proto": "https"}
    host = f"{client.host}:{client.port}"

    same_origin = await client.post(
        "/authentication/log-in", json=CREDENTIALS, headers=https | {"Origin": f"https://{host}"}
    )
    plain_origin = await client.post(
        "/authentication/log-in", json=CREDENTIALS, headers=https | {"Origin": f"http://{host}"}
    )

    assert same_origin.status == 200
    assert plain_origin.status == 403  # the browser is on https: http is another origin


async def test_forwarded_https_from_an_untrusted_peer_changes_no_origin(client: Client) -> None:
    await client.post("/authentication/register", json=REGISTRATION)
    headers = {"X-Forwarded-Proto": "https", "Origin": f"https://{client.host}:{client.port}"}

    response = await client.post("/authentication/log-in", json=CREDENTIALS, headers=headers)

    assert response.status == 403


async def test_the_throttle_counts_the_forwarded_client_address_behind_a_trusted_proxy(
    make_client: MakeClient, shared_settings: MakeSettings
) -> None:
    settings = shared_settings(
        trusted_proxies="127.0.0.1", throttle_address_limit=2, throttle_base_delay=30
    )
    client = await make_client(settings)
    attacker = {"X-Forwarded-For": CLIENT_ADDRESS}
    for email in ("a@example.com", "b@example.com"):
        body = {"email": email, "password": "wrong horse"}
        assert (
            await client.post("/authentication/log-in", json=body, headers=attacker)
        ).status == 401

    body = {"email": "c@example.com", "password": "wrong horse"}
    locked = await client.post("/authentication/log-in", json=body, headers=attacker)
    someone_else = await client.post(
        "/authentication/log-in", json=body, headers={"X-Forwarded-For": "198.51.100.9"}
    )

    assert locked.status == 429
    assert someone_else.status == 401


async def test_an_untrusted_client_cannot_dodge_the_address_limit_with_x_forwarded_for(
    make_client: MakeClient, shared_settings: MakeSettings
) -> None:
    client = await make_client(shared_settings(throttle_address_limit=2, throttle_base_delay=30))

    statuses = []
    for number in range(4):
        body = {"email": f"user{number}@example.com", "password": "wrong horse"}
        spoofed = {"X-Forwarded-For": f"198.51.100.{number}"}
        response = await client.post("/authentication/log-in", json=body, headers=spoofed)
        statuses.append(response.status)

    assert statuses == [401, 401, 429, 429]


@pytest.mark.parametrize("path", ["/authentication/register", "/authentication/log-in"])
async def test_a_forwarded_hop_with_an_undecodable_zone_is_never_a_500(
    make_client: MakeClient, shared_settings: MakeSettings, path: str
) -> None:
    client = await make_client(shared_settings(trusted_proxies="127.0.0.1"))
    body = json.dumps(REGISTRATION).encode()

    answer = await raw_exchange(
        client.port,
        b"POST " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nX-Forwarded-For: fe80::1%\xff\xfe\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body,
    )

    assert status_of(answer) in {201, 401}
