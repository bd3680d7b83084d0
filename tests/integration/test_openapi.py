"""GET /openapi.json documents exactly the routes the app serves, as valid OpenAPI 3.1."""

from __future__ import annotations

from openapi_spec_validator import validate

from coatcheck.domain.errors import EmailTaken
from coatcheck.entrypoints.http.problems import kind_of
from coatcheck.entrypoints.http.responses import Problem, SessionOut, TokenOut, UserOut
from tests.integration.conftest import MakeClient, MakeSettings

REF = "#/components/schemas/{model}"


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


async def test_openapi_reply_schemas_are_the_response_models_own(
    make_client: MakeClient, embedded_settings: MakeSettings
) -> None:
    client = await make_client(embedded_settings())
    document = await (await client.get("/openapi.json")).json()
    schemas = document["components"]["schemas"]
    for model in (UserOut, TokenOut, SessionOut, Problem):
        own = model.model_json_schema(ref_template=REF, by_alias=True, mode="serialization")
        documented = schemas[model.__name__]
        assert documented["required"] == own["required"]
        assert documented["properties"].keys() == own["properties"].keys()
    who_am_i = document["paths"]["/authentication"]["get"]["responses"]["200"]
    assert who_am_i["content"]["application/json"]["schema"] == {
        "$ref": REF.format(model="UserOut")
    }


async def test_openapi_error_answers_are_the_problem_tables(
    make_client: MakeClient, embedded_settings: MakeSettings
) -> None:
    client = await make_client(embedded_settings())
    paths = (await (await client.get("/openapi.json")).json())["paths"]
    register = paths["/authentication/register"]["post"]["responses"]
    assert set(register) == {"201", "400", "403", "409", "413", "415", "417", "429", "431", "503"}
    taken = register["409"]["content"]["application/problem+json"]["schema"]
    assert taken["properties"]["type"]["enum"] == [kind_of(EmailTaken).type]
    assert register["409"]["description"] == kind_of(EmailTaken).title
    change = paths["/authentication/change-password"]["post"]["responses"]
    assert set(change) == {
        "200",
        "204",
        "400",
        "401",
        "403",
        "413",
        "415",
        "417",
        "429",
        "431",
        "503",
    }
    who_am_i = paths["/authentication"]["get"]["responses"]
    assert set(who_am_i) == {"200", "401", "417", "431", "503"}
    assert set(paths["/health/live"]["get"]["responses"]) == {"200", "417", "431"}


async def test_openapi_document_with_cors_lists_the_same_routes(
    make_client: MakeClient, embedded_settings: MakeSettings
) -> None:
    plain = await make_client(embedded_settings())
    with_cors = await make_client(embedded_settings(allowed_origins=["https://app.example.com"]))
    one = await (await plain.get("/openapi.json")).json()
    two = await (await with_cors.get("/openapi.json")).json()
    assert one["paths"] == two["paths"]
