"""Bounded fuzzing of every JSON body the API reads: a fixed seed, a few hundred requests,
and no answer outside 2xx/4xx."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from tests.integration.conftest import REGISTRATION, Client, MakeClient, MakeSettings

FIELDS = ["email", "name", "password", "remember", "currentPassword", "newPassword"]
ROUTES = [
    "/authentication/register",
    "/authentication/log-in",
    "/authentication/token",
    "/authentication/change-password",
]
REQUESTS_PER_ROUTE = 150
STRINGS = [
    "",
    " ",
    "a@b.co",
    "ADA@EXAMPLE.COM",
    "\ud800",
    "\x00",
    "€" * 30,
    "x" * 300,
    "null",
    "<script>",
    "' OR 1=1 --",
    "\u200b",
    "\U0001d518\U0001d52b\U0001d526",
    "ada@example.com\n",
]


def _value(rng: random.Random, depth: int = 0) -> Any:
    choice = rng.randrange(9 if depth < 2 else 6)
    if choice == 0:
        return None
    if choice == 1:
        return rng.choice([True, False])
    if choice == 2:
        return rng.choice([0, -1, 2**64, 1e308, 0.5])
    if choice in (3, 4, 5):
        return rng.choice(STRINGS) + "".join(
            chr(rng.randrange(32, 0x3000)) for _ in range(rng.randrange(12))
        )
    if choice in (6, 7):
        return {rng.choice(FIELDS): _value(rng, depth + 1) for _ in range(rng.randrange(5))}
    return [_value(rng, depth + 1) for _ in range(rng.randrange(4))]


def _body(rng: random.Random) -> bytes:
    if rng.random() < 0.1:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(64)))
    document = {field: _value(rng) for field in rng.sample(FIELDS, rng.randrange(len(FIELDS)))}
    text = json.dumps(document if rng.random() < 0.9 else _value(rng))
    return text.encode("utf-8", "surrogatepass")


@pytest.mark.parametrize("route", ROUTES)
async def test_fuzzed_bodies_never_get_a_5xx(
    make_client: MakeClient, embedded_settings: MakeSettings, route: str
) -> None:
    client: Client = await make_client(embedded_settings(login_throttle=False))
    assert (await client.post("/authentication/register", json=REGISTRATION)).status == 201
    rng = random.Random(f"coatcheck-fuzz-{route}")
    for _ in range(REQUESTS_PER_ROUTE):
        body = _body(rng)
        response = await client.post(route, data=body, headers={"Content-Type": "application/json"})
        await response.read()
        assert response.status < 500, (route, body)
