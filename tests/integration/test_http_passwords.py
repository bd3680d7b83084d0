"""Passwords over HTTP: bcrypt's 72-byte limit is a clear 400 (never a silent truncation),
the length policy counts characters, outdated hashes are upgraded at log-in, a failed log-in
says nothing about whether the email exists, and no response ever carries a hash."""

from __future__ import annotations

import asyncpg
import pytest
from aiohttp import ClientResponse

from tests.integration.conftest import REGISTRATION, Client, MakeClient, MakeSettings

EMAIL = REGISTRATION["email"]
EURO = "€"  # three bytes in UTF-8


async def register(client: Client, password: str) -> ClientResponse:
    return await client.post("/authentication/register", json=REGISTRATION | {"password": password})


async def log_in(client: Client, password: str) -> ClientResponse:
    return await client.post("/authentication/log-in", json={"email": EMAIL, "password": password})


async def assert_field_error(response: ClientResponse, field: str, password: str) -> None:
    assert response.status == 400
    assert response.content_type == "application/problem+json"
    problem = await response.json()
    assert [error["field"] for error in problem["errors"]] == [field]
    assert password not in await response.text()  # the value is never echoed


async def stored_hash(dsn: str) -> str:
    connection = await asyncpg.connect(dsn)
    try:
        value = await connection.fetchval("SELECT password_hash FROM users WHERE email = $1", EMAIL)
    finally:
        await connection.close()
    assert isinstance(value, str)
    return value


@pytest.mark.parametrize(
    "password",
    [pytest.param("p" * 72, id="72-ascii-bytes"), pytest.param(EURO * 24, id="24-euro-signs")],
)
async def test_password_of_exactly_72_bytes_registers_and_logs_in(
    client: Client, password: str
) -> None:
    assert len(password.encode()) == 72

    assert (await register(client, password)).status == 201
    client.session.cookie_jar.clear()
    assert (await log_in(client, password)).status == 200


@pytest.mark.parametrize(
    "password",
    [
        pytest.param("p" * 73, id="73-ascii-bytes"),
        pytest.param(EURO * 24 + "a", id="24-euro-signs-and-a-letter"),
        pytest.param("p" * 71 + EURO, id="a-character-across-the-limit"),
    ],
)
async def test_password_over_72_bytes_is_refused_on_register(client: Client, password: str) -> None:
    assert len(password.encode()) > 72

    response = await register(client, password)

    await assert_field_error(response, "password", password)
    truncated = password.encode()[:72].decode(errors="ignore")
    assert (await log_in(client, truncated)).status == 401  # no user was made


@pytest.mark.parametrize(
    ("password", "longer"),
    [
        pytest.param("p" * 72, "p" * 73, id="73-ascii-bytes"),
        pytest.param(EURO * 24, EURO * 24 + "a", id="24-euro-signs-and-a-letter"),
    ],
)
async def test_password_over_72_bytes_is_refused_on_log_in_not_truncated(
    client: Client, password: str, longer: str
) -> None:
    assert (await register(client, password)).status == 201
    client.session.cookie_jar.clear()

    response = await log_in(client, longer)  # bcrypt alone would read 72 bytes and accept it

    await assert_field_error(response, "password", longer)
    assert "Set-Cookie" not in response.headers


async def test_new_password_over_72_bytes_is_refused_on_change_password(client: Client) -> None:
    await register(client, REGISTRATION["password"])
    longer = EURO * 24 + "a"
    body = {"currentPassword": REGISTRATION["password"], "newPassword": longer}

    response = await client.post("/authentication/change-password", json=body)

    await assert_field_error(response, "newPassword", longer)
    client.session.cookie_jar.clear()
    assert (await log_in(client, REGISTRATION["password"])).status == 200


@pytest.mark.parametrize("password", ["abcdefg", EURO * 7], ids=["7-letters", "7-euro-signs"])
async def test_password_of_7_characters_is_refused_on_register(
    client: Client, password: str
) -> None:
    await assert_field_error(await register(client, password), "password", password)


@pytest.mark.parametrize("password", ["abcdefgh", EURO * 8], ids=["8-letters", "8-euro-signs"])
async def test_password_of_8_characters_is_accepted_on_register(
    client: Client, password: str
) -> None:
    assert (await register(client, password)).status == 201


async def test_log_in_upgrades_a_hash_made_at_another_cost(
    make_client: MakeClient, shared_settings: MakeSettings, postgres_dsn: str
) -> None:
    old = await make_client(shared_settings(bcrypt_rounds=4))
    new = await make_client(shared_settings(bcrypt_rounds=5))
    password = REGISTRATION["password"]
    assert (await register(old, password)).status == 201
    assert (await stored_hash(postgres_dsn)).startswith("$2b$04$")

    assert (await log_in(new, password)).status == 200

    upgraded = await stored_hash(postgres_dsn)
    assert upgraded.startswith("$2b$05$")
    new.session.cookie_jar.clear()
    assert (await log_in(new, password)).status == 200  # the new hash verifies
    assert await stored_hash(postgres_dsn) == upgraded  # and is not rewritten again
    assert (await log_in(new, "wrong horse")).status == 401


async def test_a_failed_log_in_does_not_upgrade_the_hash(
    make_client: MakeClient, shared_settings: MakeSettings, postgres_dsn: str
) -> None:
    old = await make_client(shared_settings(bcrypt_rounds=4))
    new = await make_client(shared_settings(bcrypt_rounds=5))
    assert (await register(old, REGISTRATION["password"])).status == 201
    original = await stored_hash(postgres_dsn)

    assert (await log_in(new, "wrong horse")).status == 401

    assert await stored_hash(postgres_dsn) == original


async def anatomy(response: ClientResponse) -> tuple[int, str, bytes, list[str]]:
    """Everything a client sees of a response but the values of its Date header."""
    header_names = sorted(name.lower() for name in response.headers)
    return response.status, response.headers["Content-Type"], await response.read(), header_names


@pytest.mark.parametrize("path", ["/authentication/log-in", "/authentication/token"])
async def test_unknown_email_and_wrong_password_get_byte_identical_answers(
    client: Client, path: str
) -> None:
    await register(client, REGISTRATION["password"])
    client.session.cookie_jar.clear()

    wrong_password = await client.post(path, json={"email": EMAIL, "password": "wrong horse"})
    unknown_email = await client.post(
        path, json={"email": "nobody@example.com", "password": "wrong horse"}
    )

    assert wrong_password.status == 401
    assert await anatomy(wrong_password) == await anatomy(unknown_email)


async def test_no_response_ever_carries_the_password_hash(
    client: Client, postgres_dsn: str
) -> None:
    password, new_password = REGISTRATION["password"], "another horse"
    responses = [await register(client, password)]
    first_hash = await stored_hash(postgres_dsn)
    responses.append(await log_in(client, password))
    remember = {"email": EMAIL, "password": password, "remember": True}
    responses.append(await client.post("/authentication/log-in", json=remember))
    token = await client.post("/authentication/token", json={"email": EMAIL, "password": password})
    responses.append(token)
    bearer = {"Authorization": f"Bearer {(await token.json())['token']}"}
    responses.append(await client.get("/authentication"))
    responses.append(await client.get("/authentication/sessions"))
    responses.append(await client.get("/authentication", headers=bearer))
    responses.append(await log_in(client, "wrong horse"))
    responses.append(await register(client, password))  # 409: the email is taken
    change = {"currentPassword": password, "newPassword": new_password}
    responses.append(
        await client.post("/authentication/change-password", json=change, headers=bearer)
    )
    second_hash = await stored_hash(postgres_dsn)
    responses.append(await log_in(client, new_password))
    back = {"currentPassword": new_password, "newPassword": password}
    responses.append(await client.post("/authentication/change-password", json=back))
    responses.append(await client.get("/authentication"))
    third_hash = await stored_hash(postgres_dsn)

    statuses = [response.status for response in responses]
    assert statuses == [201, 200, 200, 200, 200, 200, 200, 401, 409, 200, 200, 204, 200]
    assert len({first_hash, second_hash, third_hash}) == 3
    for response in responses:
        texts = [await response.text(), *response.headers.values()]
        for text in texts:
            assert "$2b$" not in text
            assert first_hash not in text
            assert second_hash not in text
            assert third_hash not in text
            assert password not in text
            assert new_password not in text
        if response.content_type == "application/json":
            assert not any("password" in key.lower() for key in keys_of(await response.json()))


def keys_of(document: object) -> set[str]:
    """Every key of a JSON document, at any depth."""
    if isinstance(document, dict):
        return set(document).union(*(keys_of(value) for value in document.values()))
    if isinstance(document, list):
        return set().union(*(keys_of(item) for item in document))
    return set()


async def test_a_password_of_nul_characters_is_refused_and_the_empty_one_never_logs_in(
    client: Client,
) -> None:
    nuls = "\x00" * 10  # bcrypt cycles its key bytes: all NULs is the empty key

    await assert_field_error(await register(client, nuls), "password", nuls)
    client.session.cookie_jar.clear()
    for password in ("", "\x00"):
        response = await log_in(client, password)
        assert response.status == 400
        assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize("password", ["correct\x00horse", "correct\thorse", "correct\x7fhorse"])
async def test_a_password_with_a_control_character_is_a_400_naming_it(
    client: Client, password: str
) -> None:
    await assert_field_error(await register(client, password), "password", password)
    assert (await register(client, REGISTRATION["password"])).status == 201
    client.session.cookie_jar.clear()
    await assert_field_error(await log_in(client, password), "password", password)


async def test_the_same_password_typed_on_another_keyboard_logs_in(client: Client) -> None:
    decomposed, composed = "cre\u0300me bru\u0302le\u0301e", "crème brûlée"
    assert (await register(client, decomposed)).status == 201
    client.session.cookie_jar.clear()

    assert (await log_in(client, composed)).status == 200
