"""The Sessions port, as every adapter must honour it."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from attrs import evolve

from coatcheck.domain.model import AuthMethod, Email, SessionKind
from tests.factories import NOW, digest_for, make_session


async def test_added_session_reads_back_equal(sessions: Any) -> None:
    session = make_session(uuid.uuid4(), kind=SessionKind.REMEMBERED)
    await sessions.add(digest_for("a"), session)
    assert await sessions.get(digest_for("a")) == session


async def test_a_session_s_creation_reads_back_to_the_millisecond(sessions: Any) -> None:
    session = make_session(uuid.uuid4(), now=NOW + timedelta(milliseconds=987))
    assert session.created_at.microsecond == 987_000
    await sessions.add(digest_for("a"), session)
    assert await sessions.get(digest_for("a")) == session
    (stored,) = await sessions.of_user(session.user_id, NOW)
    assert stored.session.created_at == session.created_at


async def test_unknown_digest_reads_none(sessions: Any) -> None:
    assert await sessions.get(digest_for("nothing")) is None


async def test_replace_overwrites_a_live_session(sessions: Any) -> None:
    session = make_session(uuid.uuid4())
    await sessions.add(digest_for("a"), session)
    renewed = evolve(session, last_seen_at=NOW + timedelta(minutes=2))
    assert await sessions.replace(digest_for("a"), renewed) is True
    assert await sessions.get(digest_for("a")) == renewed


async def test_replace_never_resurrects_a_removed_session(sessions: Any) -> None:
    session = make_session(uuid.uuid4())
    await sessions.add(digest_for("a"), session)
    await sessions.remove(digest_for("a"))
    assert await sessions.replace(digest_for("a"), session) is False
    assert await sessions.get(digest_for("a")) is None
    assert await sessions.of_user(session.user_id, NOW) == []


async def test_removed_session_is_gone_and_removing_twice_is_harmless(sessions: Any) -> None:
    session = make_session(uuid.uuid4())
    await sessions.add(digest_for("a"), session)
    await sessions.remove(digest_for("a"))
    await sessions.remove(digest_for("a"))
    assert await sessions.get(digest_for("a")) is None


async def test_of_user_lists_exactly_that_users_sessions(sessions: Any) -> None:
    ada, bob = uuid.uuid4(), uuid.uuid4()
    added = {}
    for label, user in [("a1", ada), ("a2", ada), ("b1", bob)]:
        added[label] = make_session(user)
        await sessions.add(digest_for(label), added[label])
    listed = await sessions.of_user(ada, NOW)
    assert sorted(item.session.id for item in listed) == sorted([added["a1"].id, added["a2"].id])
    assert all(item.session.user_id == ada for item in listed)


async def test_the_handle_of_user_reports_removes_that_session(sessions: Any) -> None:
    user = uuid.uuid4()
    await sessions.add(digest_for("a"), make_session(user))
    await sessions.add(digest_for("b"), make_session(user))
    first = (await sessions.of_user(user, NOW))[0]
    await sessions.remove(first.digest)
    remaining = await sessions.of_user(user, NOW)
    assert [item.session.id for item in remaining] != [first.session.id]
    assert len(remaining) == 1


async def test_of_user_prunes_expired_sessions_entirely(sessions: Any) -> None:
    user = uuid.uuid4()
    short = make_session(user)  # browser: 30 minutes idle
    long = make_session(user, kind=SessionKind.REMEMBERED)
    await sessions.add(digest_for("short"), short)
    await sessions.add(digest_for("long"), long)
    an_hour_later = NOW + timedelta(hours=1)
    listed = await sessions.of_user(user, an_hour_later)
    assert [item.session.id for item in listed] == [long.id]
    assert await sessions.get(digest_for("short")) is None


async def test_remove_of_user_keeps_only_the_named_session(sessions: Any) -> None:
    ada, bob = uuid.uuid4(), uuid.uuid4()
    added = {}
    for label, user in [("a1", ada), ("a2", ada), ("a3", ada), ("b1", bob)]:
        added[label] = make_session(user)
        await sessions.add(digest_for(label), added[label])
    assert await sessions.remove_of_user(ada, keep=digest_for("a2")) == 2
    assert [item.session.id for item in await sessions.of_user(ada, NOW)] == [added["a2"].id]
    assert await sessions.get(digest_for("a1")) is None
    assert await sessions.get(digest_for("b1")) is not None


async def test_remove_of_user_without_keep_removes_all(sessions: Any) -> None:
    user = uuid.uuid4()
    for label in ["a1", "a2"]:
        await sessions.add(digest_for(label), make_session(user))
    assert await sessions.remove_of_user(user) == 2
    assert await sessions.of_user(user, NOW) == []
    assert await sessions.remove_of_user(user) == 0


async def test_user_agent_and_address_round_trip(sessions: Any) -> None:
    session = make_session(uuid.uuid4(), user_agent='Ünïcode agent/1.0 "quoted"')
    await sessions.add(digest_for("a"), session)
    stored = await sessions.get(digest_for("a"))
    assert stored is not None
    assert stored.client == session.client


async def test_ping_answers(sessions: Any) -> None:
    await sessions.ping()


async def test_update_user_rewrites_the_card_of_each_session_of_that_user(sessions: Any) -> None:
    ada, bob = uuid.uuid4(), uuid.uuid4()
    mine = [make_session(ada), make_session(ada, kind=SessionKind.REMEMBERED)]
    theirs = make_session(bob)
    for label, session in [("a1", mine[0]), ("a2", mine[1]), ("b1", theirs)]:
        await sessions.add(digest_for(label), session)
    assert mine[0].user is not None
    card = evolve(mine[0].user, email=Email("ada.new@example.com"), email_verified=True)

    assert await sessions.update_user(card) == 2

    for label, session in [("a1", mine[0]), ("a2", mine[1])]:
        assert await sessions.get(digest_for(label)) == evolve(session, user=card)
    assert await sessions.get(digest_for("b1")) == theirs
    listed = await sessions.of_user(ada, NOW)
    assert {item.session.user for item in listed} == {card}


async def test_update_user_never_brings_back_a_removed_session(sessions: Any) -> None:
    session = make_session(uuid.uuid4())
    await sessions.add(digest_for("a"), session)
    await sessions.remove(digest_for("a"))
    assert session.user is not None

    assert await sessions.update_user(evolve(session.user, email_verified=True)) == 0

    assert await sessions.get(digest_for("a")) is None
    assert await sessions.of_user(session.user_id, NOW) == []


async def test_update_user_of_a_user_without_sessions_rewrites_none(sessions: Any) -> None:
    session = make_session(uuid.uuid4())
    assert session.user is not None
    assert await sessions.update_user(session.user) == 0


async def test_a_renewal_never_writes_back_the_card_update_user_replaced(sessions: Any) -> None:
    session = make_session(uuid.uuid4())
    await sessions.add(digest_for("a"), session)
    read = await sessions.get(digest_for("a"))  # a request reads it ...
    assert read is not None
    assert read.user is not None
    card = evolve(read.user, email_verified=True)
    await sessions.update_user(card)  # ... the address is verified meanwhile ...
    renewed = evolve(read, last_seen_at=NOW + timedelta(minutes=2))

    assert await sessions.replace(digest_for("a"), renewed) is True  # ... and it renews

    stored = await sessions.get(digest_for("a"))
    assert stored is not None
    assert stored.user == card


async def test_how_a_session_was_authenticated_round_trips(sessions: Any) -> None:
    methods = AuthMethod.PASSWORD | AuthMethod.TOTP
    session = evolve(make_session(uuid.uuid4()), methods=methods)
    await sessions.add(digest_for("a"), session)

    stored = await sessions.get(digest_for("a"))

    assert stored is not None
    assert stored.methods == methods
    assert stored.last_authenticated_at == session.created_at


async def test_a_re_authentication_written_by_replace_reads_back(sessions: Any) -> None:
    session = make_session(uuid.uuid4())
    await sessions.add(digest_for("a"), session)
    again = evolve(
        session,
        methods=AuthMethod.PASSKEY,
        authenticated_at=NOW + timedelta(minutes=20),
        last_seen_at=NOW + timedelta(minutes=20),
    )

    assert await sessions.replace(digest_for("a"), again) is True

    assert await sessions.get(digest_for("a")) == again
