"""The deployment's EmailPolicy reaches every address a client gives (issue 18, items 3 and
6): an IP-literal or a .test domain is a 400 unless EMAIL_ALLOW_IP_LITERAL or
EMAIL_ALLOW_TEST_DOMAINS says otherwise, and other special-use domains never pass."""

from __future__ import annotations

import pytest

from tests.integration.conftest import MakeClient, MakeSettings

PASSWORD = "correct horse battery"


def registration(email: str) -> dict[str, str]:
    return {"email": email, "name": "Ada", "password": PASSWORD}


async def errors_of(response: object) -> list[str]:
    body = await response.json()  # type: ignore[attr-defined]
    return [error["field"] for error in body["errors"]]


@pytest.mark.parametrize("email", ["ada@example.test", "ada@[192.0.2.1]"])
async def test_an_ip_literal_or_test_domain_is_refused_by_default_on_every_route(
    embedded_settings: MakeSettings, make_client: MakeClient, email: str
) -> None:
    client = await make_client(embedded_settings(email_backend="console"))
    refused = await client.post("/authentication/register", json=registration(email))
    assert refused.status == 400
    assert await errors_of(refused) == ["email"]
    reset = await client.post("/authentication/password-reset", json={"email": email})
    assert reset.status == 400
    assert (await client.post("/authentication/register", json=registration("a@x.com"))).ok
    change = await client.post(
        "/authentication/change-email", json={"currentPassword": PASSWORD, "newEmail": email}
    )
    assert change.status == 400
    assert await errors_of(change) == ["newEmail"]


async def test_the_test_domain_setting_lets_test_addresses_register_and_nothing_more(
    embedded_settings: MakeSettings, make_client: MakeClient
) -> None:
    client = await make_client(embedded_settings(email_allow_test_domains=True))
    created = await client.post("/authentication/register", json=registration("ada@bench.test"))
    assert created.status == 201
    assert (await created.json())["email"] == "ada@bench.test"
    for other in ("ada@[192.0.2.1]", "ada@box.localhost", "ada@example.invalid"):
        refused = await client.post("/authentication/register", json=registration(other))
        assert refused.status == 400, other


async def test_the_ip_literal_setting_lets_ip_literal_addresses_register(
    embedded_settings: MakeSettings, make_client: MakeClient
) -> None:
    client = await make_client(embedded_settings(email_allow_ip_literal=True))
    created = await client.post("/authentication/register", json=registration("ada@[192.0.2.1]"))
    assert created.status == 201
    assert (await created.json())["email"] == "ada@[192.0.2.1]"
    test_domain = await client.post("/authentication/register", json=registration("b@x.test"))
    assert test_domain.status == 400
