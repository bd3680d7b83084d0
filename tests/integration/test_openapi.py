"""GET /openapi.json documents exactly the routes the app serves, as valid OpenAPI 3.1."""

from __future__ import annotations

from openapi_spec_validator import validate

from tests.integration.conftest import MakeClient, MakeSettings


async def test_openapi_document_is_valid_openapi_3_1(
    make_client: MakeClient, embedded_settings: MakeSettings
) -> None:
    client = await make_client(embedded_settings())
    response = await client.get("/openapi.json")
    assert response.status == 200
    document = await response.json()
    assert document["openapi"] == "3.1.0"
    validate(document)


async def test_openapi_document_lists_every_route_and_method_the_app_serves(
    make_client: MakeClient, embedded_settings: MakeSettings
) -> None:
    client = await make_client(embedded_settings())
    document = await (await client.get("/openapi.json")).json()
    served = {
        (route.resource.canonical, route.method.lower())
        for route in client.app.router.routes()
        if route.method != "HEAD" and route.resource is not None
    }
    documented = {
        (path, method) for path, operations in document["paths"].items() for method in operations
    }
    assert documented == served


async def test_openapi_request_bodies_come_from_the_parsers_models(
    make_client: MakeClient, embedded_settings: MakeSettings
) -> None:
    client = await make_client(embedded_settings())
    schemas = (await (await client.get("/openapi.json")).json())["components"]["schemas"]
    assert set(schemas["ChangePasswordBody"]["required"]) == {"currentPassword", "newPassword"}
    assert schemas["RegisterBody"]["properties"]["password"]["minLength"] == 8
