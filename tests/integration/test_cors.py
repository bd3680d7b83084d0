"""A front end served from an allowed origin can call the API with its cookie (CORS with
credentials); any other origin gets no CORS permission, and its unsafe requests a 403."""

from __future__ import annotations

from tests.integration.conftest import CREDENTIALS, MakeClient, MakeSettings
from tests.integration.http import register

FRONT_END = "http://localhost:3000"


async def test_a_preflight_from_an_allowed_origin_is_granted_with_credentials(
    make_client: MakeClient, embedded_settings: MakeSettings
) -> None:
    client = await make_client(embedded_settings(allowed_origins=FRONT_END))
    response = await client.options(
        "/authentication/log-in",
        headers={
            "Origin": FRONT_END,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert response.status == 200
    assert response.headers["Access-Control-Allow-Origin"] == FRONT_END
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]


async def test_a_log_in_from_an_allowed_origin_may_be_read_by_its_page(
    make_client: MakeClient, embedded_settings: MakeSettings
) -> None:
    client = await make_client(embedded_settings(allowed_origins=FRONT_END))
    await register(client)
    response = await client.post(
        "/authentication/log-in", json=CREDENTIALS, headers={"Origin": FRONT_END}
    )
    assert response.status == 200
    assert response.headers["Access-Control-Allow-Origin"] == FRONT_END
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    who = await client.get("/authentication", headers={"Origin": FRONT_END})
    assert who.status == 200
    assert who.headers["Access-Control-Allow-Origin"] == FRONT_END


async def test_another_origin_gets_no_cors_permission(
    make_client: MakeClient, embedded_settings: MakeSettings
) -> None:
    client = await make_client(embedded_settings(allowed_origins=FRONT_END))
    await register(client)
    who = await client.get("/authentication", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in who.headers
    preflight = await client.options(
        "/authentication/log-in",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "Access-Control-Allow-Origin" not in preflight.headers
    assert preflight.status >= 400
    assert preflight.status < 500


async def test_without_allowed_origins_there_is_no_cors_at_all(
    make_client: MakeClient, embedded_settings: MakeSettings
) -> None:
    client = await make_client(embedded_settings())
    await register(client)
    who = await client.get("/authentication", headers={"Origin": FRONT_END})
    assert "Access-Control-Allow-Origin" not in who.headers
