"""bench/seed_redis.py: the sessions it writes in bulk (copies of one recorded through
RedisSessions.add for each user, sent over a plain socket) are sessions coatcheck itself
reads, authenticates, lists and revokes, stored in the adapter's own encoding."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from bench.seed_redis import BenchUser, write_sessions

from coatcheck.adapters.clock import SystemClock
from coatcheck.adapters.redis.client import Client, ms_up, open_redis
from coatcheck.adapters.redis.sessions import RedisSessions
from coatcheck.adapters.session_records import encode_compact
from coatcheck.domain.errors import NotAuthenticated
from coatcheck.domain.model import SessionKind
from coatcheck.domain.sessions import SessionPolicy
from coatcheck.domain.tickets import SessionTicket, TicketKey
from coatcheck.domain.use_cases.authentication import Authenticate

SECRET = "a-bench-secret-of-at-least-thirty-two-bytes"
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) bench-test"
USERS = [BenchUser(str(uuid.uuid4()), f"u{n}@bench.test", f"User {n}") for n in range(3)]
COUNT = 7  # dealt round-robin: 3, 2 and 2 sessions


@pytest.fixture
async def client(redis_space: tuple[str, str]) -> AsyncIterator[Client]:
    client = await open_redis(redis_space[0])
    yield client
    await client.aclose()


async def expiry(client: Client, key: bytes | str) -> int:
    """When the key expires, in epoch milliseconds."""
    return int(await client.execute_command("PEXPIRETIME", key))


async def seeded(redis_space: tuple[str, str]) -> list[SessionTicket]:
    url, prefix = redis_space
    tickets = await write_sessions(
        url, prefix, SECRET, USERS, COUNT, user_agent=USER_AGENT, sample=COUNT
    )
    return [ticket for raw in tickets if (ticket := SessionTicket.parse(raw)) is not None]


def authenticator(sessions: RedisSessions) -> Authenticate:
    """The service's own check, over the seeded store."""
    return Authenticate(sessions, TicketKey(SECRET.encode()), SystemClock(), SessionPolicy())


async def test_each_seeded_session_authenticates_as_its_user(
    redis_space: tuple[str, str], client: Client
) -> None:
    tickets = await seeded(redis_space)
    sessions = RedisSessions(client, prefix=redis_space[1])
    authenticate = authenticator(sessions)

    found = [await authenticate(ticket) for ticket in tickets]

    assert len(tickets) == COUNT
    by_user = {user.id: user for user in USERS}
    for authenticated in found:
        session = authenticated.session
        user = by_user[str(session.user_id)]
        assert session.user is not None
        assert (session.user.email.value, session.user.name.value) == (user.email, user.name)
        assert session.kind is SessionKind.REMEMBERED
        assert session.client.user_agent == USER_AGENT
        assert authenticated.renewed  # made two minutes ago (SEEDED_AGO): due at once
    assert len({authenticated.session.id for authenticated in found}) == COUNT
    assert Counter(str(a.session.user_id) for a in found) == Counter(
        {USERS[0].id: 3, USERS[1].id: 2, USERS[2].id: 2}
    )


async def test_seeded_records_are_the_adapters_encoding_and_expire_with_their_session(
    redis_space: tuple[str, str], client: Client
) -> None:
    tickets = await seeded(redis_space)
    prefix = redis_space[1]
    sessions = RedisSessions(client, prefix=prefix)
    key = TicketKey(SECRET.encode())

    for ticket in tickets:
        digest = key.digest(ticket)
        session = await sessions.get(digest)
        assert session is not None
        record_key = prefix.encode() + b"s:" + bytes.fromhex(digest)[:16]
        assert await client.get(record_key) == encode_compact(session)
        expires = ms_up(session.expires_at)
        assert await expiry(client, record_key) == expires
        index = f"{prefix}user:{session.user_id}:sessions"
        assert await client.zscore(index, bytes.fromhex(digest)[:16]) == expires
        assert await expiry(client, index) == expires


async def test_seeded_sessions_are_listed_and_revoked_with_their_user(
    redis_space: tuple[str, str], client: Client
) -> None:
    tickets = await seeded(redis_space)
    sessions = RedisSessions(client, prefix=redis_space[1])
    authenticate = authenticator(sessions)
    first = uuid.UUID(USERS[0].id)
    mine = [ticket for ticket in tickets if (await authenticate(ticket)).session.user_id == first]

    listed = await sessions.of_user(first, SystemClock().now())
    revoked = await sessions.remove_of_user(first)

    assert len(listed) == len(mine) == 3
    assert revoked == 3
    for ticket in mine:
        with pytest.raises(NotAuthenticated):
            await authenticate(ticket)
    for ticket in set(tickets) - set(mine):  # the other users' sessions live on
        await authenticate(ticket)
