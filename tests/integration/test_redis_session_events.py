"""The Redis session events' listener over a connection that fails: cut, or silent (nothing
gets through, nothing closes). Either way it subscribes again, resyncs, and hears what is
published from then on."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis
from yarl import URL

from coatcheck.adapters.redis.client import create_redis
from coatcheck.adapters.redis.session_events import RedisSessionEvents
from coatcheck.domain.events import SessionsChanged
from tests.integration.tcp_proxy import TcpProxy, tcp_proxy
from tests.listening import listening, until

USER = uuid.uuid4()


@pytest.fixture
async def proxy(redis_space: tuple[str, str]) -> AsyncIterator[TcpProxy]:
    target = URL(redis_space[0])
    async with tcp_proxy(target.host or "127.0.0.1", target.port or 6379) as proxied:
        yield proxied


@pytest.fixture
async def publisher(redis_space: tuple[str, str]) -> AsyncIterator[RedisSessionEvents]:
    client = redis.Redis.from_url(redis_space[0])
    yield RedisSessionEvents(client, prefix=redis_space[1])
    await client.aclose()


@pytest.fixture
async def behind_proxy(
    proxy: TcpProxy, redis_space: tuple[str, str]
) -> AsyncIterator[RedisSessionEvents]:
    client = create_redis(f"redis://127.0.0.1:{proxy.port}/0")
    yield RedisSessionEvents(client, redis_space[1], ping_seconds=0.2, answer_seconds=0.3)
    await client.aclose()


async def test_a_cut_subscription_is_made_again_and_resynced(
    proxy: TcpProxy, behind_proxy: RedisSessionEvents, publisher: RedisSessionEvents
) -> None:
    async with listening(behind_proxy) as heard:
        proxy.sever()
        await publisher.publish(SessionsChanged(uuid.uuid4()))  # missed: covered by the resync
        proxy.restore()
        await until(lambda: heard.resyncs == 2)
        await publisher.publish(SessionsChanged(USER))
        await until(lambda: heard.events == [SessionsChanged(USER)])


async def test_a_subscription_that_falls_silent_is_replaced_and_resynced(
    proxy: TcpProxy, behind_proxy: RedisSessionEvents, publisher: RedisSessionEvents
) -> None:
    async with listening(behind_proxy) as heard:
        proxy.stall()
        await publisher.publish(SessionsChanged(uuid.uuid4()))  # stuck in the silent link
        await until(lambda: proxy.connections > 1)  # it gave up on the silent connection
        proxy.resume()
        await until(lambda: heard.resyncs >= 2)
        await publisher.publish(SessionsChanged(USER))
        await until(lambda: SessionsChanged(USER) in heard.events)
