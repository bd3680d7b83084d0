"""bench/run's renewal keeper (bench/renewals.py): between the runs that use the sessions it
renews each one as it comes due, through coatcheck's own Authenticate; paused, it writes
nothing, so that a run over the cookies meets the renewals that come due during it."""

from __future__ import annotations

import asyncio
import uuid

from bench.renewals import RenewalKeeper
from bench.seed_redis import BenchUser, write_sessions

from coatcheck.adapters.redis.client import open_redis
from coatcheck.adapters.redis.sessions import RedisSessions
from coatcheck.domain.model import Session
from coatcheck.domain.tickets import SessionTicket, TicketKey

SECRET = "a-bench-secret-of-at-least-thirty-two-bytes"
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) bench-test"


async def read(url: str, prefix: str, tickets: list[str]) -> list[Session | None]:
    client = await open_redis(url)
    sessions = RedisSessions(client, prefix=prefix)
    key = TicketKey(SECRET.encode())
    parsed = [SessionTicket.parse(ticket) for ticket in tickets]
    try:
        return list(await asyncio.gather(*(sessions.get(key.digest(t)) for t in parsed if t)))
    finally:
        await client.aclose()


async def test_the_keeper_renews_due_sessions_while_resumed_and_nothing_while_paused(
    redis_space: tuple[str, str],
) -> None:
    url, prefix = redis_space
    users = [BenchUser(str(uuid.uuid4()), f"u{n}@bench.test", f"User {n}") for n in range(3)]
    # written two minutes ago: each is due for renewal
    first = await write_sessions(url, prefix, SECRET, users, 6, user_agent=USER_AGENT, sample=6)
    second = await write_sessions(url, prefix, SECRET, users, 6, user_agent=USER_AGENT, sample=6)
    before = await read(url, prefix, first + second)
    cookies = [f"__Host-coatcheck={ticket}" for ticket in first]

    keeper = RenewalKeeper(url, prefix, SECRET, cookies)
    try:
        await asyncio.to_thread(keeper.resume)
        for _ in range(100):
            if keeper.renewed == len(first):
                break
            await asyncio.sleep(0.05)
        await asyncio.to_thread(keeper.pause)
        assert keeper.renewed == len(first)
        after = await read(url, prefix, first + second)
        for old, new in zip(before[:6], after[:6], strict=True):
            assert old is not None
            assert new is not None
            assert new.last_seen_at > old.last_seen_at  # renewed
        assert after[6:] == before[6:]  # sessions it does not keep are left alone

        renewed = keeper.renewed
        await asyncio.sleep(0.3)
        assert keeper.renewed == renewed  # paused: nothing written
    finally:
        await asyncio.to_thread(keeper.close)


async def test_catching_up_returns_once_every_due_session_is_renewed(
    redis_space: tuple[str, str],
) -> None:
    url, prefix = redis_space
    users = [BenchUser(str(uuid.uuid4()), f"u{n}@bench.test", f"User {n}") for n in range(3)]
    # written two minutes ago: each is due for renewal
    tickets = await write_sessions(url, prefix, SECRET, users, 6, user_agent=USER_AGENT, sample=6)
    before = await read(url, prefix, tickets)
    keeper = RenewalKeeper(url, prefix, SECRET, [f"__Host-coatcheck={t}" for t in tickets])
    try:
        await asyncio.to_thread(keeper.catch_up)
        assert keeper.renewed == len(tickets)  # no waiting: all written on return
        after = await read(url, prefix, tickets)
        for old, new in zip(before, after, strict=True):
            assert old is not None
            assert new is not None
            assert new.last_seen_at > old.last_seen_at
    finally:
        await asyncio.to_thread(keeper.close)
