"""What the Redis adapters promise beyond the port contracts: key expiry, no secrets at rest,
and round trips that do not grow with the number of sessions."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Iterable
from datetime import UTC, datetime, timedelta
from itertools import combinations

import ormsgpack
import pytest
import redis.asyncio as redis
from attrs import evolve
from redis.asyncio.connection import Connection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript

from coatcheck.adapters.redis.client import create_redis
from coatcheck.adapters.redis.login_attempts import RedisLoginAttempts
from coatcheck.adapters.redis.sessions import _RENEWAL_STEP, RedisSessions
from coatcheck.adapters.session_records import encode_compact
from coatcheck.domain.errors import StoreUnavailable
from coatcheck.domain.model import Email, Name, SessionKind
from coatcheck.domain.tickets import SessionTicket, TicketKey
from tests.factories import NOW, digest_for, make_session

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MS = timedelta(milliseconds=1)


class RoundTrips:
    """Counts what a client writes to its sockets: one send per command or pipeline."""

    def __init__(self) -> None:
        self.count = 0

    def client(self, url: str) -> redis.Redis:
        trips = self

        class CountingConnection(Connection):
            async def send_packed_command(
                self, command: bytes | str | Iterable[bytes], check_health: bool = True
            ) -> None:
                trips.count += 1
                await super().send_packed_command(command, check_health)

        return redis.Redis.from_url(url, connection_class=CountingConnection)

    async def of(self, operation: Awaitable[object]) -> int:
        before = self.count
        await operation
        return self.count - before


@pytest.fixture
async def client(redis_space: tuple[str, str]) -> AsyncIterator[redis.Redis]:
    client = redis.Redis.from_url(redis_space[0])
    yield client
    await client.aclose()


@pytest.fixture
async def counted(redis_space: tuple[str, str]) -> AsyncIterator[tuple[RedisSessions, RoundTrips]]:
    trips = RoundTrips()
    client = trips.client(redis_space[0])
    await client.ping()  # opens the connection, whose handshake is not counted below
    yield RedisSessions(client, prefix=redis_space[1]), trips
    await client.aclose()


@pytest.fixture
def sessions(client: redis.Redis, redis_space: tuple[str, str]) -> RedisSessions:
    return RedisSessions(client, prefix=redis_space[1])


@pytest.fixture
def attempts(client: redis.Redis, redis_space: tuple[str, str]) -> RedisLoginAttempts:
    return RedisLoginAttempts(client, prefix=redis_space[1])


async def keys_of(client: redis.Redis, prefix: str) -> list[bytes]:
    return sorted([key async for key in client.scan_iter(match=prefix + "*", count=1000)])


async def snapshot(client: redis.Redis, prefix: str) -> dict[bytes, tuple[bytes, int]]:
    """Every key of the space with its serialised value and its absolute expiry."""
    keys = await keys_of(client, prefix)
    return {key: (await client.dump(key), await client.pexpiretime(key)) for key in keys}


def record_key(prefix: str, digest: str) -> bytes:
    """Where a session of this release is kept: 128 bits of its digest, raw."""
    return f"{prefix}s:".encode() + bytes.fromhex(digest[:32])


def ms(moment: datetime) -> int:
    """Epoch milliseconds, rounded up."""
    return -((EPOCH - moment) // MS)


async def test_every_key_the_adapters_write_expires(
    client: redis.Redis,
    redis_space: tuple[str, str],
    sessions: RedisSessions,
    attempts: RedisLoginAttempts,
) -> None:
    user = uuid.uuid4()
    browser, remembered = make_session(user), make_session(user, kind=SessionKind.REMEMBERED)
    await sessions.add(digest_for("browser"), browser)
    await sessions.add(digest_for("remembered"), remembered)
    await sessions.replace(digest_for("browser"), evolve(browser, last_seen_at=NOW + MS))
    await attempts.record_failure("account:a", timedelta(minutes=15), NOW)
    await attempts.claim_lock("account:a", NOW + timedelta(seconds=30), NOW)

    keys = await keys_of(client, redis_space[1])
    assert len(keys) == 5
    assert all(ttl > 0 for ttl in [await client.pttl(key) for key in keys])


async def test_keys_expire_at_their_deadline_and_the_index_with_the_latest_session(
    client: redis.Redis, redis_space: tuple[str, str], sessions: RedisSessions
) -> None:
    user, prefix = uuid.uuid4(), redis_space[1]
    remembered = make_session(user, kind=SessionKind.REMEMBERED)
    browser = make_session(user)
    index = f"{prefix}user:{user}:sessions"
    await sessions.add(digest_for("remembered"), remembered)
    assert await client.pexpiretime(index) == ms(remembered.expires_at)
    await sessions.add(digest_for("browser"), browser)
    assert await client.pexpiretime(record_key(prefix, digest_for("browser"))) == ms(
        browser.expires_at
    )
    assert await client.pexpiretime(index) == ms(remembered.expires_at)

    renewed = evolve(remembered, expires_at=remembered.expires_at + timedelta(days=1))
    await sessions.replace(digest_for("remembered"), renewed)
    assert await client.pexpiretime(index) == ms(renewed.expires_at)


async def test_stored_values_hold_no_ticket_and_the_record_no_digest(
    client: redis.Redis, redis_space: tuple[str, str], sessions: RedisSessions
) -> None:
    ticket = SessionTicket.issue()
    digest = TicketKey(b"k" * 32).digest(ticket)
    session = make_session(uuid.uuid4())
    await sessions.add(digest, session)

    record = await client.get(record_key(redis_space[1], digest))
    assert record is not None
    assert digest.encode() not in record
    assert bytes.fromhex(digest)[:16] not in record  # not even the part the key holds
    assert len(ormsgpack.unpackb(record)) == 15  # the fields session_records names
    for key in await keys_of(client, redis_space[1]):
        is_string = await client.type(key) == b"string"
        values = [await client.get(key)] if is_string else await client.zrange(key, 0, -1)
        assert all(ticket.value.encode() not in value for value in [key, *values])


async def test_replace_after_remove_returns_false_and_writes_nothing(
    client: redis.Redis, redis_space: tuple[str, str], sessions: RedisSessions
) -> None:
    user = uuid.uuid4()
    gone, other = make_session(user), make_session(user)
    await sessions.add(digest_for("gone"), gone)
    await sessions.add(digest_for("other"), other)
    await sessions.remove(digest_for("gone"))
    before = await snapshot(client, redis_space[1])

    later = evolve(gone, expires_at=gone.expires_at + timedelta(days=1))
    assert await sessions.replace(digest_for("gone"), later) is False
    assert await snapshot(client, redis_space[1]) == before


async def test_remove_of_user_removes_a_thousand_sessions_in_three_round_trips(
    client: redis.Redis,
    redis_space: tuple[str, str],
    counted: tuple[RedisSessions, RoundTrips],
) -> None:
    sessions, trips = counted
    user = uuid.uuid4()
    for n in range(1000):
        await sessions.add(digest_for(f"s{n}"), make_session(user))

    before = trips.count
    assert await sessions.remove_of_user(user) == 1000
    assert trips.count - before == 3  # ZRANGE, one DEL of every record, then one ZREM
    assert await sessions.of_user(user, NOW) == []
    assert await keys_of(client, redis_space[1]) == []


async def test_each_operation_takes_a_fixed_number_of_round_trips(
    counted: tuple[RedisSessions, RoundTrips],
) -> None:
    sessions, trips = counted
    user = uuid.uuid4()
    session = make_session(user)
    await sessions.replace(digest_for("none"), session)  # a script's first use loads it
    assert await trips.of(sessions.add(digest_for("a"), session)) == 2  # index, then record
    assert await trips.of(sessions.get(digest_for("a"))) == 1
    assert await trips.of(sessions.get(digest_for("none"))) == 2  # and under 0.1's key
    assert await trips.of(sessions.replace(digest_for("a"), session)) == 1  # index and record
    assert await trips.of(sessions.of_user(user, NOW)) == 2
    assert await trips.of(sessions.remove(digest_for("a"))) == 2
    assert await trips.of(sessions.remove(digest_for("a"))) == 1


async def test_renewals_of_one_tick_share_one_round_trip_and_each_is_written(
    client: redis.Redis, redis_space: tuple[str, str], counted: tuple[RedisSessions, RoundTrips]
) -> None:
    sessions, trips = counted
    user, prefix = uuid.uuid4(), redis_space[1]
    made = {digest_for(f"tick {n}"): make_session(user) for n in range(25)}
    for digest, session in made.items():
        await sessions.add(digest, session)
    await sessions.remove(digest_for("tick 0"))  # one of them revoked meanwhile
    renewed = {
        d: evolve(s, expires_at=s.expires_at + timedelta(minutes=n))
        for n, (d, s) in enumerate(made.items())
    }

    before = trips.count
    written = await asyncio.gather(*(sessions.replace(d, s) for d, s in renewed.items()))
    # the index entries and records of the 25 in one pipeline; the revoked one also looks
    # for a 0.1 record (one SET XX, which writes nothing)
    assert trips.count - before == 2
    assert written == [False] + [True] * 24
    assert await sessions.get(digest_for("tick 0")) is None  # never resurrected
    for digest, session in list(renewed.items())[1:]:
        assert await sessions.get(digest) == session
    index = f"{prefix}user:{user}:sessions"
    latest = list(renewed.values())[-1]
    assert await client.pexpiretime(index) == ms(latest.expires_at)
    scores = dict(await client.zrange(index, 0, -1, withscores=True))
    assert len(scores) == 24
    assert max(scores.values()) == ms(latest.expires_at)


async def test_a_renewal_loads_its_script_on_a_server_that_does_not_know_it(
    redis_space: tuple[str, str], sessions: RedisSessions, client: redis.Redis
) -> None:
    # A script the server has never seen (a restarted Redis): its SHA answers NOSCRIPT.
    unknown = _RENEWAL_STEP + f"\n-- {uuid.uuid4()}"
    sessions._step = client.register_script(unknown)  # as a restarted server sees it
    user = uuid.uuid4()
    session = make_session(user)
    await sessions.add(digest_for("a"), session)
    later = evolve(session, expires_at=session.expires_at + timedelta(minutes=1))

    assert await sessions.replace(digest_for("a"), later) is True
    assert await sessions.get(digest_for("a")) == later
    index = f"{redis_space[1]}user:{user}:sessions"
    assert await client.pexpiretime(index) == ms(later.expires_at)


class LostConnections:
    """A client whose connection is lost once `left` more commands or pipelines have gone
    (None: never), and that does not retry: what the server answered before stays done."""

    def __init__(self) -> None:
        self.left: int | None = None  # unarmed

    def client(self, url: str) -> redis.Redis:
        lost = self

        class LosingConnection(Connection):
            async def send_packed_command(
                self, command: bytes | str | Iterable[bytes], check_health: bool = True
            ) -> None:
                if lost.left is not None:
                    if lost.left <= 0:
                        raise redis.ConnectionError("connection lost")
                    lost.left -= 1
                await super().send_packed_command(command, check_health)

        return redis.Redis.from_url(
            url, connection_class=LosingConnection, retry=Retry(NoBackoff(), 0)
        )


async def test_a_renewal_never_leaves_its_record_outliving_its_index_whichever_script_is_unknown(
    redis_space: tuple[str, str], client: redis.Redis
) -> None:
    # A server can know some of a renewal's scripts and not others: the release before this
    # one loaded its record script, say, and this release's index script is not loaded yet.
    # Whichever it does not know, and even if the connection is lost once the tick's
    # pipeline is answered, the record must not end after its index entry and its index.
    scripts = [n for n, v in vars(RedisSessions(client)).items() if isinstance(v, AsyncScript)]
    assert scripts
    unknown_sets = [c for size in range(len(scripts) + 1) for c in combinations(scripts, size)]
    for unknown in unknown_sets:
        lost = LostConnections()
        breaking = lost.client(redis_space[0])
        try:
            await breaking.ping()  # connected
            lost.left = 1  # the tick's pipeline, then nothing
            sessions = RedisSessions(breaking, prefix=redis_space[1])
            for name in unknown:  # as a server that never loaded it sees it
                source = getattr(sessions, name).script + f"\n-- {uuid.uuid4()}"
                setattr(sessions, name, breaking.register_script(source))
            user = uuid.uuid4()
            session = make_session(user)
            await RedisSessions(client, prefix=redis_space[1]).add(digest_for("a"), session)
            later = evolve(session, expires_at=session.expires_at + timedelta(minutes=1))

            with contextlib.suppress(StoreUnavailable):  # renewed, or not: either may be
                await sessions.replace(digest_for("a"), later)

            record = await client.pexpiretime(record_key(redis_space[1], digest_for("a")))
            index = f"{redis_space[1]}user:{user}:sessions"
            entry = await client.zscore(index, bytes.fromhex(digest_for("a")[:32]))
            assert entry is not None, unknown
            assert entry >= record, unknown
            assert await client.pexpiretime(index) >= record, unknown
        finally:
            await breaking.aclose()


async def test_of_user_prunes_a_session_whose_record_expired(
    client: redis.Redis, redis_space: tuple[str, str], sessions: RedisSessions
) -> None:
    user, prefix = uuid.uuid4(), redis_space[1]
    await sessions.add(digest_for("expiring"), make_session(user))
    await sessions.add(digest_for("staying"), make_session(user))
    await client.pexpire(record_key(prefix, digest_for("expiring")), 1)
    await asyncio.sleep(0.05)

    listed = await sessions.of_user(user, NOW)
    assert [item.digest for item in listed] == [digest_for("staying")[:32]]
    assert await client.zrange(f"{prefix}user:{user}:sessions", 0, -1) == [
        bytes.fromhex(digest_for("staying")[:32])
    ]


async def test_unreachable_redis_raises_store_unavailable_naming_no_address() -> None:
    client = create_redis("redis://:hunter2@127.0.0.1:1/0")
    try:
        for operation in [
            RedisSessions(client).get(digest_for("a")),
            RedisSessions(client).ping(),
            RedisLoginAttempts(client).locked_until(["account:a"]),
        ]:
            with pytest.raises(StoreUnavailable) as raised:
                await operation
            assert str(raised.value) == "session store unavailable"
    finally:
        await client.aclose()


async def test_a_record_written_before_email_verified_reads_renews_and_is_rewritten(
    client: redis.Redis, redis_space: tuple[str, str], sessions: RedisSessions
) -> None:
    session = make_session(uuid.uuid4())
    assert session.user is not None
    await sessions.add(digest_for("a"), session)
    key = record_key(redis_space[1], digest_for("a"))
    earlier = ormsgpack.unpackb(await client.get(key))
    del earlier[7]  # how and when it was authenticated: not in records of version 1
    earlier = [1, *earlier[1:13]]  # as the release before wrote it
    await client.set(key, ormsgpack.packb(earlier), keepttl=True)

    assert await sessions.get(digest_for("a")) == session  # read as not verified
    renewed = evolve(session, last_seen_at=NOW + timedelta(minutes=2))
    assert await sessions.replace(digest_for("a"), renewed) is True
    assert await sessions.get(digest_for("a")) == renewed
    expiry = await client.pexpiretime(key)
    verified = evolve(session.user, email_verified=True)

    assert await sessions.update_user(verified) == 1

    assert await client.pexpiretime(key) == expiry  # KEEPTTL
    assert await sessions.get(digest_for("a")) == evolve(renewed, user=verified)
    assert len(ormsgpack.unpackb(await client.get(key))) == 15


async def test_a_record_of_the_release_before_reads_renews_and_is_rewritten(
    client: redis.Redis, redis_space: tuple[str, str], sessions: RedisSessions
) -> None:
    session = make_session(uuid.uuid4())  # made on a whole second, as before
    await sessions.add(digest_for("a"), session)
    key = record_key(redis_space[1], digest_for("a"))
    earlier = ormsgpack.unpackb(await client.get(key))
    del earlier[7]  # as the release before wrote it: version 1, no methods, on the second
    earlier[0] = 1
    await client.set(key, ormsgpack.packb(earlier), keepttl=True)

    assert await sessions.get(digest_for("a")) == session
    renewed = evolve(session, last_seen_at=NOW + timedelta(minutes=2))
    assert await sessions.replace(digest_for("a"), renewed) is True
    assert await sessions.get(digest_for("a")) == renewed
    rewritten = ormsgpack.unpackb(await client.get(key))
    assert (rewritten[0], len(rewritten)) == (2, 15)


def test_a_record_keeps_its_creation_to_the_millisecond_in_a_one_byte_header_array() -> None:
    made = make_session(uuid.uuid4(), now=NOW + timedelta(milliseconds=250))
    record = encode_compact(made)
    elements = ormsgpack.unpackb(record)
    assert elements[4] == int(NOW.timestamp())  # whole seconds where they always were
    assert record[0] == 0x90 | 15  # a fixarray: no byte more for the milliseconds


async def test_a_json_record_gets_the_card_with_its_verified_state(
    client: redis.Redis, redis_space: tuple[str, str]
) -> None:
    sessions = RedisSessions(client, prefix=redis_space[1], encoding="json")
    session = make_session(uuid.uuid4())
    assert session.user is not None
    await sessions.add(digest_for("a"), session)
    verified = evolve(session.user, email_verified=True)

    assert await sessions.update_user(verified) == 1

    raw = await client.get(f"{redis_space[1]}session:{digest_for('a')}")
    assert json.loads(raw)["user"]["email_verified"] is True
    assert await sessions.get(digest_for("a")) == evolve(session, user=verified)


async def test_a_json_record_s_renewal_moves_its_index_entry_and_the_index_s_expiry(
    client: redis.Redis, redis_space: tuple[str, str]
) -> None:
    sessions = RedisSessions(client, prefix=redis_space[1], encoding="json")
    user = uuid.uuid4()
    session = make_session(user)
    await sessions.add(digest_for("a"), session)
    later = evolve(session, expires_at=session.expires_at + timedelta(minutes=5))

    assert await sessions.replace(digest_for("a"), later) is True

    index = f"{redis_space[1]}user:{user}:sessions"
    assert await client.zscore(index, digest_for("a")) == ms(later.expires_at)
    assert await client.pexpiretime(index) == ms(later.expires_at)
    assert await sessions.get(digest_for("a")) == later


def test_a_typical_compact_record_stays_within_124_bytes() -> None:
    """With Redis's 4 bytes of string header, a 128-byte allocation (issue 20: at most 400
    bytes of Redis memory a session, everything included)."""
    agent = (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36 Company/1.0"
    )
    session = make_session(uuid.uuid4(), user_agent=agent, address="203.0.113.7")
    assert session.user is not None
    card = evolve(session.user, email=Email("a" * 15 + "@example.com"), name=Name("N" * 12))
    assert len(card.email.value) == 27
    record = encode_compact(evolve(session, user=evolve(card, email_verified=True)))
    assert len(record) <= 124
