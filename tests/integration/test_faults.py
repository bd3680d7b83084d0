"""Stores that fail under steady traffic: each killed and restarted, hung (SIGSTOP, then
SIGCONT) and, for Redis, out of memory, on servers the tests start themselves. Asserted:
no 500; every 503 within its deadline; no 200 for a ticket that could not be checked;
readiness right within its own limit; recovery without restart; no user created behind an
error answer and none lost. Each prints its worst latencies (pytest -s)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import asyncpg
import pytest

from tests.faults import PostgresServer, RedisServer, postgres_server, redis_server
from tests.integration.conftest import Client, MakeClient, MakeSettings
from tests.integration.load import (
    PASSWORD,
    Traffic,
    ready_answer,
    traffic,
    until_all_served,
)

pytestmark = pytest.mark.faults
REQUEST_DEADLINE = 1.0  # the defaults
HASHING_DEADLINE = 5.0
READY_TIMEOUT = 0.5
SLACK = 0.5  # the test client shares the event loop with the app
FAULT_SECONDS = 2.0
LOOSE_THROTTLE = {  # every client is 127.0.0.1
    "throttle_address_limit": 1_000_000,
    "register_throttle_limit": 1_000_000,
}


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


@pytest.fixture(scope="module")
def own_postgres_cluster() -> Iterator[PostgresServer]:
    with postgres_server() as server:
        yield server


@pytest.fixture
async def own_postgres(own_postgres_cluster: PostgresServer) -> PostgresServer:
    """The module's cluster, with no users table yet for this test."""
    connection = await asyncpg.connect(own_postgres_cluster.dsn)
    try:
        await connection.execute(
            "DROP TABLE IF EXISTS outbox, account_tokens, seen_devices, totp_factors,"
            " recovery_codes, passkeys, users, schema_migrations"
        )
    finally:
        await connection.close()
    return own_postgres_cluster


def report(name: str, flow: Traffic, recovered_in: float) -> None:
    worst = max(flow.answers, key=lambda a: a.took)
    unavailable = [a.took for a in flow.answers if a.status == 503]
    print(
        f"\nFAULT {name}: {len(flow.answers)} answers, {len(unavailable)} x 503,"
        f" worst latency {worst.took * 1000:.0f} ms ({worst.kind} {worst.status}),"
        f" worst 503 {max(unavailable, default=0) * 1000:.0f} ms,"
        f" all sessions back {recovered_in:.2f} s after the store"
    )


def assert_no_500_and_fast_503s(flow: Traffic) -> None:
    statuses = {a.status for a in flow.answers}
    assert all(status < 500 or status == 503 for status in statuses), statuses
    assert 0 not in statuses, "a request got no answer at all"
    for answer in flow.answers:
        if answer.status == 503:
            limit = HASHING_DEADLINE if answer.kind != "get" else REQUEST_DEADLINE
            assert answer.took < limit + SLACK, answer


def assert_nothing_authenticated_while_down(flow: Traffic, down: float, up: float) -> None:
    """A ticket that could not be checked is never 200: nothing that started once the store
    was gone, and ended before it came back, was answered with a session."""
    checked_blind = [
        a
        for a in flow.answers
        if a.kind == "get" and a.started > down + 0.05 and a.started + a.took < up
    ]
    assert checked_blind, "no request ran during the fault"
    assert {a.status for a in checked_blind} == {503}, {a.status for a in checked_blind}


async def _ready_within_limit(client: Client, expected: int) -> None:
    status, took = await ready_answer(client)
    assert status == expected
    assert took < READY_TIMEOUT + SLACK


async def fault_run(
    client: Client,
    name: str,
    break_it: Callable[[], Awaitable[None]],
    mend_it: Callable[[], Awaitable[None]],
    ready_while_broken: int = 503,
) -> tuple[Traffic, float, float]:
    async with traffic(client) as flow:
        await asyncio.sleep(0.5)
        await break_it()
        down = time.monotonic()  # once the fault holds: a kill waits for the process to die
        await asyncio.sleep(0.3)
        await _ready_within_limit(client, ready_while_broken)
        await asyncio.sleep(FAULT_SECONDS)
        up = time.monotonic()
        await mend_it()
        recovered_in = await until_all_served(flow)
        await _ready_within_limit(client, 200)
        await asyncio.sleep(0.5)
    report(name, flow, recovered_in)
    assert_no_500_and_fast_503s(flow)
    assert all(a.status in (200, 201) for a in flow.since(up + recovered_in + 0.2))
    return flow, down, up


async def assert_registrations_kept_their_word(client: Client, flow: Traffic) -> None:
    """A 201 registration logs in; one answered otherwise left no user: log-in is refused
    and the email can be registered again."""
    for answer in (a for a in flow.answers if a.kind == "register"):
        credentials = {"email": answer.email, "password": PASSWORD}
        async with client.post("/authentication/token", json=credentials) as response:
            logged_in = response.status
        if answer.status == 201:
            assert logged_in == 200, answer
            continue
        assert logged_in == 401, answer
        again = {**credentials, "name": "Again"}
        async with client.post("/authentication/register", json=again) as response:
            assert response.status == 201, answer
        client.session.cookie_jar.clear()


@pytest.fixture
async def on_own_redis(
    make_client: MakeClient, shared_settings: MakeSettings, own_redis: RedisServer
) -> Client:
    return await make_client(shared_settings(redis_url=own_redis.url, **LOOSE_THROTTLE))


@pytest.fixture
async def on_own_postgres(
    make_client: MakeClient, shared_settings: MakeSettings, own_postgres: PostgresServer
) -> Client:
    # A registration rides out a hang shorter than its deadline (its confirmation waits that
    # long): a deadline shorter than the hang makes some fail, and their users must not exist.
    settings = shared_settings(
        database_url=own_postgres.dsn, hashing_deadline=FAULT_SECONDS / 2, **LOOSE_THROTTLE
    )
    return await make_client(settings)


def _in_thread(step: Callable[[], Any]) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        await asyncio.to_thread(step)

    return run


async def test_redis_killed_and_restarted(on_own_redis: Client, own_redis: RedisServer) -> None:
    flow, down, up = await fault_run(
        on_own_redis, "redis killed", _in_thread(own_redis.kill), _in_thread(own_redis.start)
    )
    assert_nothing_authenticated_while_down(flow, down, up)
    await assert_registrations_kept_their_word(on_own_redis, flow)


async def test_redis_hung_and_resumed(on_own_redis: Client, own_redis: RedisServer) -> None:
    flow, down, up = await fault_run(
        on_own_redis, "redis hung", _in_thread(own_redis.hang), _in_thread(own_redis.resume)
    )
    assert_nothing_authenticated_while_down(flow, down, up)
    await assert_registrations_kept_their_word(on_own_redis, flow)


async def test_redis_out_of_memory_refuses_log_ins_and_readiness_but_not_sessions(
    on_own_redis: Client, own_redis: RedisServer
) -> None:
    flow, down, up = await fault_run(
        on_own_redis,
        "redis out of memory",
        _in_thread(own_redis.out_of_memory),
        _in_thread(own_redis.memory_back),
    )
    during = [a for a in flow.answers if down + 0.05 < a.started and a.started + a.took < up]
    assert {a.status for a in during if a.kind == "log-in"} == {503}
    assert {a.status for a in during if a.kind == "get"} == {200}  # reads still check tickets
    await assert_registrations_kept_their_word(on_own_redis, flow)


async def test_postgres_killed_and_restarted(
    on_own_postgres: Client, own_postgres: PostgresServer
) -> None:
    flow, _, _ = await fault_run(
        on_own_postgres,
        "postgres killed",
        _in_thread(own_postgres.kill),
        _in_thread(own_postgres.start),
    )
    await assert_registrations_kept_their_word(on_own_postgres, flow)


async def test_postgres_hung_creates_no_user_behind_an_error_answer(
    on_own_postgres: Client, own_postgres: PostgresServer
) -> None:
    flow, _, _ = await fault_run(
        on_own_postgres,
        "postgres hung",
        _in_thread(own_postgres.hang),
        _in_thread(own_postgres.resume),
    )
    failed = [a for a in flow.answers if a.kind == "register" and a.status == 503]
    assert failed, "no registration met the hang"
    await asyncio.sleep(0.5)  # whatever the resumed server had queued has run by now
    await assert_registrations_kept_their_word(on_own_postgres, flow)
    # Sessions need no PostgreSQL: authenticating never stopped.
    assert {a.status for a in flow.answers if a.kind == "get"} == {200}
