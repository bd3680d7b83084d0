"""What the authenticated check costs the stores, counted at the stores, and how it holds
under a burst: one Redis command for the reads of one event-loop tick, no PostgreSQL, no
write while no renewal is due, and every answer 200 while the stores are healthy."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import aiohttp
import pytest
import redis.asyncio as redis

from coatcheck.adapters.redis.sessions import RedisSessions
from coatcheck.entrypoints.migrations import apply_migrations
from tests.factories import digest_for, make_session
from tests.integration.conftest import CREDENTIALS, REGISTRATION, Client, MakeClient, MakeSettings
from tests.integration.http import COOKIE, cookie, settled
from tests.integration.store_counters import QueryCounter, counting_pool, monitor_redis

SESSIONS = 40


@pytest.fixture
async def counted(
    make_client: MakeClient, shared_settings: MakeSettings
) -> AsyncIterator[tuple[Client, QueryCounter]]:
    """An app whose PostgreSQL queries are counted, Ada registered and logged in."""
    settings = shared_settings()
    await apply_migrations(settings)
    assert settings.database_url is not None
    counter = QueryCounter()
    pool = await counting_pool(settings.database_url.get_secret_value(), counter)
    client = await make_client(settings, postgres=pool)
    response = await client.post("/authentication/register", json=REGISTRATION)
    assert response.status == 201
    yield client, counter
    await pool.close()


async def tickets(client: Client, count: int) -> list[str]:
    """`count` live sessions of Ada (each log-in is a new session)."""
    found = []
    for _ in range(count):
        client.session.cookie_jar.clear()
        response = await client.post("/authentication/log-in", json=CREDENTIALS)
        assert response.status == 200
        found.append(response.cookies[COOKIE].value)
    client.session.cookie_jar.clear()
    await settled(client)  # what log-ins do after their answers (known devices) is done
    return found


async def test_an_authenticated_request_is_one_redis_read_and_no_postgresql_query(
    counted: tuple[Client, QueryCounter], redis_space: tuple[str, str]
) -> None:
    client, queries = counted
    (ticket,) = await tickets(client, 1)
    assert any("FROM users" in query for query in queries.queries)  # the counter counts
    queries.queries.clear()

    async with monitor_redis(*redis_space) as redis_seen:
        response = await client.get("/authentication", headers=cookie(ticket))
        assert response.status == 200
        assert (await response.json())["email"] == REGISTRATION["email"]

    assert len(redis_seen.commands) == 1
    assert redis_seen.named("MGET")  # the one read, and no write: no renewal was due
    assert queries.queries == []


async def test_authenticated_requests_arriving_together_share_one_redis_command(
    counted: tuple[Client, QueryCounter], redis_space: tuple[str, str]
) -> None:
    client, queries = counted
    held = await tickets(client, SESSIONS)
    queries.queries.clear()

    async with monitor_redis(*redis_space) as redis_seen:
        answers = await asyncio.gather(
            *(client.get("/authentication", headers=cookie(ticket)) for ticket in held)
        )
    assert [answer.status for answer in answers] == [200] * SESSIONS

    reads = redis_seen.named("MGET")
    assert redis_seen.commands == reads  # nothing but batched reads
    assert len(reads) < SESSIONS / 4  # far fewer round trips than requests
    assert sum(command.count(redis_space[1]) for command in reads) == SESSIONS, reads
    assert queries.queries == []


async def test_reads_of_one_tick_are_one_mget_at_the_adapter(
    redis_space: tuple[str, str],
) -> None:
    url, prefix = redis_space
    client = redis.Redis.from_url(url)
    sessions = RedisSessions(client, prefix=prefix)
    user = uuid.uuid4()
    added = {digest_for(str(n)): make_session(user) for n in range(25)}
    for digest, session in added.items():
        await sessions.add(digest, session)

    async with monitor_redis(url, prefix) as seen:
        found = await asyncio.gather(*(sessions.get(digest) for digest in added))
    await client.aclose()

    assert found == list(added.values())
    assert len(seen.commands) == 1
    assert seen.commands[0].count(prefix) == 25


async def test_a_burst_of_simultaneous_authenticated_requests_is_all_answered_200(
    make_client: MakeClient, shared_settings: MakeSettings
) -> None:
    client = await make_client(shared_settings())
    response = await client.post("/authentication/register", json=REGISTRATION)
    assert response.status == 201
    held = await tickets(client, 30)
    url = str(client.make_url("/authentication"))
    # 300 requests at once, on 300 connections (more than the Redis pool holds).
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:

        async def one(ticket: str) -> int:
            async with http.get(url, headers=cookie(ticket)) as answer:
                await answer.read()
                return answer.status

        statuses = await asyncio.gather(*(one(held[n % len(held)]) for n in range(300)))

    assert statuses == [200] * 300


async def test_a_revocation_through_a_second_instance_is_refused_at_once_by_a_batch_on_the_first(
    make_client: MakeClient, shared_settings: MakeSettings
) -> None:
    settings = shared_settings()
    first, second = await make_client(settings), await make_client(settings)
    response = await first.post("/authentication/register", json=REGISTRATION)
    assert response.status == 201
    revoked, *others = await tickets(first, 10)
    assert (await first.get("/authentication", headers=cookie(revoked))).status == 200

    listed = await (await second.get("/authentication/sessions", headers=cookie(revoked))).json()
    (revoked_id,) = [item["id"] for item in listed if item["current"]]
    answer = await second.delete(
        f"/authentication/sessions/{revoked_id}", headers=cookie(others[0])
    )
    assert answer.status == 204

    # The very next requests on the first instance, the revoked one among live ones in one batch.
    answers = await asyncio.gather(
        *(first.get("/authentication", headers=cookie(ticket)) for ticket in [revoked, *others])
    )
    assert [answer.status for answer in answers] == [401] + [200] * len(others)
