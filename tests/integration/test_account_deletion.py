"""Deleting one's own account over HTTP: every session ends, and nothing stored about the
user is left in PostgreSQL, Redis or the embedded store."""

from __future__ import annotations

import asyncpg
import redis.asyncio as redis
from aiohttp import ClientResponse

from tests.integration.conftest import CREDENTIALS, REGISTRATION, Client, MakeClient, MakeSettings
from tests.integration.http import (
    COOKIE,
    register,
    set_cookies,
    settled,
    status_with_ticket,
    status_with_token,
    token,
)
from tests.integration.mailbox import Mailbox, link_of

EMAIL = REGISTRATION["email"]


async def delete(client: Client, password: str = REGISTRATION["password"]) -> ClientResponse:
    return await client.delete("/authentication/account", json={"currentPassword": password})


async def rows_of(dsn: str, user_id: str) -> dict[str, int]:
    connection = await asyncpg.connect(dsn)
    try:
        return {
            table: await connection.fetchval(
                f"SELECT count(*) FROM {table} WHERE {column} = $1::uuid",  # noqa: S608
                user_id,
            )
            for table, column in [
                ("users", "id"),
                ("account_tokens", "user_id"),
                ("seen_devices", "user_id"),
            ]
        }
    finally:
        await connection.close()


async def test_deleting_my_account_ends_every_session_and_leaves_nothing_behind(
    mail_client: Client, mailbox: Mailbox, postgres_dsn: str, redis_space: tuple[str, str]
) -> None:
    client = mail_client
    registered = await register(client)
    user_id = (await registered.json())["id"]
    cookie = registered.cookies[COOKIE].value
    bearer_token = await token(client)
    await client.post("/authentication/password-reset", json={"email": EMAIL})
    verify_link = link_of(await mailbox.next(EMAIL, "Verify your email address"))[2]
    await settled(client)
    assert (await rows_of(postgres_dsn, user_id))["account_tokens"] == 2

    answer = await delete(client)

    assert answer.status == 204
    assert set_cookies(answer)[COOKIE]["max-age"] == "0"
    assert await rows_of(postgres_dsn, user_id) == {
        "users": 0,
        "account_tokens": 0,
        "seen_devices": 0,
    }
    url, prefix = redis_space
    raw = redis.Redis.from_url(url)
    left = [key async for key in raw.scan_iter(match=prefix + "*")]
    await raw.aclose()
    # Clients' counts (log-ins, registrations) are shared; the spacings of letters to the
    # address stay until their time (or deleting and registering again would mail it freely).
    shared = (b"address:", b"register:", b"{mail-")
    assert [key for key in left if not any(part in key for part in shared)] == []
    assert [key for key in left if b"{mail-verify-email-" in key]
    assert await status_with_ticket(client, cookie) == 401
    assert await status_with_token(client, bearer_token) == 401
    assert (await client.post("/authentication/log-in", json=CREDENTIALS)).status == 401
    answer = await client.post("/authentication/verify-email", json={"token": verify_link})
    assert answer.status == 400
    client.session.cookie_jar.clear()
    assert (await client.post("/authentication/register", json=REGISTRATION)).status == 201


async def test_a_wrong_password_deletes_nothing(client: Client) -> None:
    cookie = (await register(client)).cookies[COOKIE].value

    answer = await delete(client, "not my password")

    assert (answer.status, (await answer.json())["type"]) == (
        401,
        "urn:coatcheck:problem:wrong-password",
    )
    assert await status_with_ticket(client, cookie) == 200


async def test_deleting_an_account_in_the_embedded_store(
    make_client: MakeClient, embedded_settings: MakeSettings
) -> None:
    client = await make_client(embedded_settings(email_backend="none"))
    cookie = (await register(client)).cookies[COOKIE].value

    assert (await delete(client)).status == 204

    assert await status_with_ticket(client, cookie) == 401
    client.session.cookie_jar.clear()
    assert (await client.post("/authentication/register", json=REGISTRATION)).status == 201
    assert (await client.delete("/authentication/account")).status == 415  # no JSON body
