"""What every answer's headers say, and do not: no answer about a user may be stored by a
cache, an answer that depends on the Origin says so, and no answer names the software."""

from __future__ import annotations

from aiohttp import ClientResponse

from tests.integration.conftest import CREDENTIALS, Client, MakeClient, MakeSettings
from tests.integration.http import bearer, register, token

FRONT_END = "http://localhost:3000"


async def test_every_authenticated_answer_is_not_to_be_stored(client: Client) -> None:
    await register(client)
    headers = bearer(await token(client))
    answers = [
        await client.get("/authentication"),
        await client.get("/authentication", headers=headers),
        await client.get("/authentication/sessions"),
        await client.get("/authentication/sessions", headers=headers),
        await client.delete("/authentication/sessions/no-such-id"),
        await client.delete("/authentication/sessions", headers=headers),
    ]

    for answer in answers:
        assert answer.headers.get("Cache-Control") == "no-store", answer.url


async def test_no_answer_names_the_server_software(client: Client) -> None:
    answers = [
        await client.get("/health/live"),
        await client.get("/authentication"),
        await client.get("/no/such/route"),
        await client.post("/authentication/log-in", json=CREDENTIALS),
        await client.post("/authentication/log-out"),
    ]

    for answer in answers:
        assert answer.headers["Server"] == "coatcheck", answer.url


async def assert_varies_by_origin(answer: ClientResponse) -> None:
    assert "Origin" in [part.strip() for part in answer.headers.get("Vary", "").split(",")]


async def test_answers_of_a_service_with_cors_vary_by_origin(
    make_client: MakeClient, embedded_settings: MakeSettings
) -> None:
    client = await make_client(embedded_settings(allowed_origins=FRONT_END))
    await register(client)
    preflight = {"Origin": FRONT_END, "Access-Control-Request-Method": "POST"}

    answers = [
        await client.get("/authentication", headers={"Origin": FRONT_END}),
        await client.get("/authentication", headers={"Origin": "https://evil.example"}),
        await client.get("/authentication"),  # a cache may give it to a page of any origin
        await client.options("/authentication/log-in", headers=preflight),
    ]

    assert answers[0].headers["Access-Control-Allow-Origin"] == FRONT_END
    for answer in answers:
        await assert_varies_by_origin(answer)
