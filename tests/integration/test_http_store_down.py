"""A store that does not answer is a 503 problem (with Retry-After), never a 500 or a hang."""

from __future__ import annotations

import time

from tests.integration.conftest import REGISTRATION, MakeClient, MakeSettings

NOBODY_LISTENS = "redis://127.0.0.1:1/0"


async def test_requests_get_503_while_redis_is_down(
    make_client: MakeClient, shared_settings: MakeSettings
) -> None:
    client = await make_client(shared_settings(redis_url=NOBODY_LISTENS))
    started = time.monotonic()
    response = await client.post("/authentication/register", json=REGISTRATION)
    assert time.monotonic() - started < 10
    assert response.status == 503
    assert response.content_type == "application/problem+json"
    assert response.headers["Retry-After"] == "1"
    body = await response.json()
    assert body["type"] == "urn:coatcheck:problem:store-unavailable"
    assert "127.0.0.1" not in body["detail"]


async def test_an_authenticated_request_gets_503_not_401_while_redis_is_down(
    make_client: MakeClient, shared_settings: MakeSettings
) -> None:
    client = await make_client(shared_settings(redis_url=NOBODY_LISTENS))
    response = await client.get("/authentication", headers={"Authorization": "Bearer " + "A" * 43})
    assert response.status == 503


async def test_readiness_names_the_store_that_is_down(
    make_client: MakeClient, shared_settings: MakeSettings
) -> None:
    client = await make_client(shared_settings(redis_url=NOBODY_LISTENS))
    response = await client.get("/health/ready")
    assert response.status == 503
    assert await response.json() == {
        "status": "unavailable",
        "checks": {"users": "ok", "sessions": "unavailable"},
    }
    assert (await client.get("/health/live")).status == 200
