"""A user's own sessions: list them, revoke one, revoke all the others; single-session policy."""

from __future__ import annotations

from datetime import timedelta

import pytest

from coatcheck.domain.errors import NotAuthenticated, SessionNotFound
from coatcheck.domain.model import ClientInfo
from coatcheck.domain.sessions import LoggedIn, SessionPolicy
from tests.unit.conftest import Build, Domain

ADA = "ada@example.com"
GRACE = "grace@example.com"


async def _sessions_of(app: Domain, email: str, count: int) -> list[LoggedIn]:
    """`count` log-ins a minute apart, oldest first, each from its own user agent."""
    made = []
    for number in range(count):
        app.clock.advance(timedelta(minutes=1))
        client = ClientInfo(f"Agent {number}", "203.0.113.7")
        made.append(await app.logged_in(email, client=client))
    return made


@pytest.fixture
async def two_users(app: Domain) -> Domain:
    await app.add_user(ADA)
    await app.add_user(GRACE)
    return app


async def test_list_sessions_shows_exactly_the_callers_live_sessions_newest_first(
    two_users: Domain,
) -> None:
    app = two_users
    ada = await _sessions_of(app, ADA, 3)
    await _sessions_of(app, GRACE, 2)
    caller = await app.authenticate(ada[1].ticket)

    views = await app.list_sessions(caller)

    assert [view.session.id for view in views] == [s.session.id for s in reversed(ada)]
    assert [view.current for view in views] == [False, True, False]
    assert [view.session.client.user_agent for view in views] == ["Agent 2", "Agent 1", "Agent 0"]


async def test_sessions_made_in_one_second_list_newest_first(two_users: Domain) -> None:
    app = two_users
    made = []
    for number in range(3):
        app.clock.advance(timedelta(milliseconds=4))
        made.append(await app.logged_in(ADA, client=ClientInfo(f"Agent {number}", "")))
    assert len({s.session.created_at.replace(microsecond=0) for s in made}) == 1

    views = await app.list_sessions(await app.authenticate(made[0].ticket))

    assert [view.session.client.user_agent for view in views] == ["Agent 2", "Agent 1", "Agent 0"]


async def test_list_sessions_leaves_out_and_prunes_expired_sessions(two_users: Domain) -> None:
    app = two_users
    (expired,) = await _sessions_of(app, ADA, 1)
    app.clock.advance(app.session_policy.browser.idle)
    live = await _sessions_of(app, ADA, 2)
    caller = await app.authenticate(live[0].ticket)

    views = await app.list_sessions(caller)

    assert [view.session.id for view in views] == [live[1].session.id, live[0].session.id]
    assert app.ticket_key.digest(expired.ticket) not in app.sessions.by_digest


async def test_list_sessions_marks_only_the_callers_session_current(two_users: Domain) -> None:
    app = two_users
    ada = await _sessions_of(app, ADA, 4)
    for mine in ada:
        views = await app.list_sessions(await app.authenticate(mine.ticket))
        assert [view.session.id for view in views if view.current] == [mine.session.id]


async def test_revoke_session_kills_exactly_that_one(two_users: Domain) -> None:
    app = two_users
    ada = await _sessions_of(app, ADA, 3)
    grace = await _sessions_of(app, GRACE, 1)
    caller = await app.authenticate(ada[0].ticket)

    revoked = await app.revoke_session(caller, ada[2].session.id)

    assert revoked.id == ada[2].session.id
    assert set(app.sessions.by_digest) == {
        app.ticket_key.digest(ada[0].ticket),
        app.ticket_key.digest(ada[1].ticket),
        app.ticket_key.digest(grace[0].ticket),
    }
    with pytest.raises(NotAuthenticated):
        await app.authenticate(ada[2].ticket)


async def test_revoking_another_users_session_raises_session_not_found_and_kills_nothing(
    two_users: Domain,
) -> None:
    app = two_users
    ada = await _sessions_of(app, ADA, 2)
    grace = await _sessions_of(app, GRACE, 1)
    caller = await app.authenticate(ada[0].ticket)
    before = dict(app.sessions.by_digest)

    with pytest.raises(SessionNotFound):
        await app.revoke_session(caller, grace[0].session.id)

    assert app.sessions.by_digest == before
    assert (await app.authenticate(grace[0].ticket)).session.id == grace[0].session.id


async def test_revoking_an_unknown_session_id_raises_session_not_found(two_users: Domain) -> None:
    app = two_users
    ada = await _sessions_of(app, ADA, 1)
    caller = await app.authenticate(ada[0].ticket)
    with pytest.raises(SessionNotFound):
        await app.revoke_session(caller, "no-such-session-id")
    assert len(app.sessions.by_digest) == 1


async def test_revoking_a_session_by_its_digest_is_not_possible(two_users: Domain) -> None:
    app = two_users
    ada = await _sessions_of(app, ADA, 2)
    caller = await app.authenticate(ada[0].ticket)
    with pytest.raises(SessionNotFound):
        await app.revoke_session(caller, app.ticket_key.digest(ada[1].ticket))
    assert len(app.sessions.by_digest) == 2


async def test_revoke_other_sessions_keeps_only_the_callers(two_users: Domain) -> None:
    app = two_users
    ada = await _sessions_of(app, ADA, 3)
    grace = await _sessions_of(app, GRACE, 2)
    caller = await app.authenticate(ada[1].ticket)

    removed = await app.revoke_other_sessions(caller)

    assert removed == 2
    assert set(app.sessions.by_digest) == {
        app.ticket_key.digest(ada[1].ticket),
        *(app.ticket_key.digest(g.ticket) for g in grace),
    }
    for gone in (ada[0], ada[2]):
        with pytest.raises(NotAuthenticated):
            await app.authenticate(gone.ticket)
    assert (await app.authenticate(ada[1].ticket)).session.id == ada[1].session.id


async def test_single_session_policy_ends_the_older_session_at_a_new_log_in(
    build: Build,
) -> None:
    app = await build(session_policy=SessionPolicy(single_session=True))
    await app.add_user(ADA)
    await app.add_user(GRACE)
    (grace,) = await _sessions_of(app, GRACE, 1)
    older = await app.logged_in(ADA)
    newer = await app.logged_in(ADA)

    with pytest.raises(NotAuthenticated):
        await app.authenticate(older.ticket)
    assert (await app.authenticate(newer.ticket)).session.id == newer.session.id
    assert app.sessions.by_digest == {
        app.ticket_key.digest(grace.ticket): grace.session,
        app.ticket_key.digest(newer.ticket): newer.session,
    }


async def test_without_single_session_policy_log_ins_add_up(two_users: Domain) -> None:
    app = two_users
    older = await app.logged_in(ADA)
    newer = await app.logged_in(ADA)
    assert (await app.authenticate(older.ticket)).session.id == older.session.id
    assert (await app.authenticate(newer.ticket)).session.id == newer.session.id
