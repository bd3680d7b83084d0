"""Session lifetimes over HTTP on real Redis, with the app's clock moved by hand: the idle
window slides with activity, the absolute limit holds however active the client is, and a
renewal is written only when it is due."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import pytest
import redis.asyncio as redis
from aiohttp import ClientResponse

from coatcheck.adapters.clock import FakeClock
from coatcheck.adapters.redis.sessions import RedisSessions
from coatcheck.adapters.session_records import decode
from coatcheck.domain.model import Session, to_the_second
from tests.integration.conftest import CREDENTIALS, Client, MakeClient, MakeSettings
from tests.integration.http import COOKIE, register, set_cookies

RegisteredWith = Callable[..., Awaitable[tuple[Client, str]]]
REMEMBERED_FOR_AN_HOUR = {
    "remember_idle_timeout": 3600,
    "remember_absolute_timeout": 7200,
    "session_touch_interval": 60,
}


class CountingSessions(RedisSessions):
    """The Redis sessions adapter, counting the calls that write to Redis."""

    writes = 0

    async def add(self, digest: str, session: Session) -> None:
        self.writes += 1
        await super().add(digest, session)

    async def replace(self, digest: str, session: Session) -> bool:
        self.writes += 1
        return await super().replace(digest, session)

    async def remove(self, digest: str) -> None:
        self.writes += 1
        await super().remove(digest)

    async def remove_of_user(self, user_id: uuid.UUID, keep: str | None = None) -> int:
        self.writes += 1
        return await super().remove_of_user(user_id, keep)


@pytest.fixture
async def counting_sessions(redis_space: tuple[str, str]) -> AsyncIterator[CountingSessions]:
    """A counting Redis sessions store on the test's key space, for an app to use."""
    url, prefix = redis_space
    client = redis.Redis.from_url(url)
    yield CountingSessions(client, prefix=prefix)
    await client.aclose()


@pytest.fixture
def registered_with(shared_settings: MakeSettings, make_client: MakeClient) -> RegisteredWith:
    """A client of a new app with these settings, Ada registered on it (her cookie in its jar);
    and her ticket."""

    async def make(**settings: int) -> tuple[Client, str]:
        client = await make_client(shared_settings(**settings))
        ticket = set_cookies(await register(client))[COOKIE][""]
        return client, ticket

    return make


async def whoami(client: Client, ticket: str | None = None) -> ClientResponse:
    cookies = None if ticket is None else {COOKIE: ticket}
    response = await client.get("/authentication", cookies=cookies)
    await response.read()
    return response


async def session_record(space: tuple[str, str]) -> tuple[bytes, int]:
    """The only session record in the test's key space, and its PTTL."""
    url, prefix = space
    raw = redis.Redis.from_url(url)
    try:
        keys = [key async for key in raw.scan_iter(match=prefix + "s:*")]
        assert len(keys) == 1
        return await raw.get(keys[0]), await raw.pttl(keys[0])
    finally:
        await raw.aclose()


def assert_rejected_and_cleared(response: ClientResponse) -> None:
    assert response.status == 401
    assert response.content_type == "application/problem+json"
    cleared = set_cookies(response)[COOKIE]
    assert cleared[""] == ""
    assert cleared["max-age"] == "0"


async def test_session_dies_once_the_idle_window_passes_without_activity(
    registered_with: RegisteredWith, clock: FakeClock
) -> None:
    client, ticket = await registered_with(session_idle_timeout=60, session_absolute_timeout=600)

    clock.advance(timedelta(seconds=61))
    response = await whoami(client)

    assert_rejected_and_cleared(response)
    assert response.headers["Cache-Control"] == "no-store"
    assert (await whoami(client, ticket)).status == 401  # and it stays dead


async def test_session_lives_until_the_last_moment_of_its_idle_window(
    registered_with: RegisteredWith, clock: FakeClock
) -> None:
    client, _ = await registered_with(session_idle_timeout=60, session_absolute_timeout=600)

    clock.advance(timedelta(seconds=59))

    assert (await whoami(client)).status == 200


async def test_activity_inside_the_idle_window_keeps_the_session_alive_across_many_windows(
    registered_with: RegisteredWith, clock: FakeClock
) -> None:
    client, _ = await registered_with(
        session_idle_timeout=60, session_absolute_timeout=3600, session_touch_interval=10
    )

    for _ in range(8):  # 320 seconds: more than five idle windows
        clock.advance(timedelta(seconds=40))
        assert (await whoami(client)).status == 200

    clock.advance(timedelta(seconds=61))
    assert_rejected_and_cleared(await whoami(client))


async def test_activity_cannot_keep_a_session_past_its_absolute_limit(
    registered_with: RegisteredWith, clock: FakeClock
) -> None:
    client, _ = await registered_with(
        session_idle_timeout=60, session_absolute_timeout=150, session_touch_interval=10
    )

    for _ in range(3):  # active at 40, 80 and 120 seconds
        clock.advance(timedelta(seconds=40))
        assert (await whoami(client)).status == 200
    clock.advance(timedelta(seconds=29))  # 149 s: the last second of its life
    assert (await whoami(client)).status == 200

    clock.advance(timedelta(seconds=2))  # 151 s, though last seen 2 s ago
    assert_rejected_and_cleared(await whoami(client))


async def test_requests_inside_one_touch_interval_write_nothing_and_the_first_after_it_writes_once(
    make_client: MakeClient,
    shared_settings: MakeSettings,
    clock: FakeClock,
    redis_space: tuple[str, str],
    counting_sessions: CountingSessions,
) -> None:
    client = await make_client(
        shared_settings(
            session_idle_timeout=600, session_absolute_timeout=3600, session_touch_interval=60
        ),
        sessions=counting_sessions,
    )
    counting = counting_sessions
    await register(client)
    assert counting.writes == 1  # the store in use is the counting one
    writes = counting.writes
    record, pttl = await session_record(redis_space)

    for _ in range(5):  # at 10, 20, ... 50 seconds
        clock.advance(timedelta(seconds=10))
        assert (await whoami(client)).status == 200

    assert counting.writes == writes
    record_after, pttl_after = await session_record(redis_space)
    assert record_after == record
    assert pttl_after <= pttl  # the expiry was not pushed back

    clock.advance(timedelta(seconds=11))  # 61 s: a renewal is due
    renewing = await whoami(client)
    assert renewing.status == 200
    assert counting.writes == writes + 1
    renewed, renewed_pttl = await session_record(redis_space)
    assert decode(renewed).last_seen_at == to_the_second(clock.now())
    assert renewed_pttl > pttl + 50_000  # the expiry moved 61 s later
    assert "Set-Cookie" not in renewing.headers  # a browser cookie needs no refresh

    clock.advance(timedelta(seconds=1))
    assert (await whoami(client)).status == 200
    assert counting.writes == writes + 1


async def test_renewing_a_remembered_session_refreshes_the_cookie_max_age(
    registered_with: RegisteredWith, clock: FakeClock
) -> None:
    client, _ = await registered_with(**REMEMBERED_FOR_AN_HOUR)
    logged_in = await client.post("/authentication/log-in", json=CREDENTIALS | {"remember": True})
    ticket = set_cookies(logged_in)[COOKIE][""]
    assert set_cookies(logged_in)[COOKIE]["max-age"] == "3600"

    clock.advance(timedelta(seconds=30))
    not_due = await whoami(client)
    assert not_due.status == 200
    assert "Set-Cookie" not in not_due.headers

    clock.advance(timedelta(seconds=90))
    renewed = await whoami(client)
    assert renewed.status == 200
    cookie = set_cookies(renewed)[COOKIE]
    assert cookie[""] == ticket  # the same ticket, a fresh lifetime
    assert cookie["max-age"] == "3600"
    assert renewed.headers["Cache-Control"] == "no-store"


async def test_a_remembered_cookie_never_outlives_the_absolute_limit(
    registered_with: RegisteredWith, clock: FakeClock
) -> None:
    client, _ = await registered_with(**REMEMBERED_FOR_AN_HOUR)
    await client.post("/authentication/log-in", json=CREDENTIALS | {"remember": True})

    clock.advance(timedelta(seconds=3000))
    assert set_cookies(await whoami(client))[COOKIE]["max-age"] == "3600"
    clock.advance(timedelta(seconds=2000))  # 5000 s: 2200 s left before the absolute limit
    assert set_cookies(await whoami(client))[COOKIE]["max-age"] == "2200"

    clock.advance(timedelta(seconds=2201))
    assert_rejected_and_cleared(await whoami(client))
