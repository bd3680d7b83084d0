"""Authenticate: a ticket names a live session; idle and absolute deadlines; cheap renewal."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from attrs import evolve

from coatcheck.adapters.memory import InMemorySessions, InMemoryUsers
from coatcheck.domain.errors import NotAuthenticated
from coatcheck.domain.model import Session, SessionKind, User
from coatcheck.domain.sessions import LoggedIn
from coatcheck.domain.tickets import SessionTicket
from tests.unit.conftest import Build, Domain

SECOND = timedelta(seconds=1)


@pytest.fixture
async def logged_in(app: Domain) -> LoggedIn:
    return await app.sign_up()


async def test_the_ticket_of_a_live_session_authenticates(app: Domain, logged_in: LoggedIn) -> None:
    authenticated = await app.authenticate(logged_in.ticket)
    assert authenticated.session == logged_in.session
    assert authenticated.digest == app.ticket_key.digest(logged_in.ticket)
    assert (await app.current_user(authenticated)).id == logged_in.user.id


async def test_missing_ticket_raises_not_authenticated(app: Domain) -> None:
    with pytest.raises(NotAuthenticated):
        await app.authenticate(None)


async def test_unknown_ticket_raises_not_authenticated(app: Domain, logged_in: LoggedIn) -> None:
    with pytest.raises(NotAuthenticated):
        await app.authenticate(SessionTicket.issue())


async def test_session_dies_after_the_idle_window(app: Domain, logged_in: LoggedIn) -> None:
    app.clock.advance(app.session_policy.browser.idle)
    with pytest.raises(NotAuthenticated):
        await app.authenticate(logged_in.ticket)


async def test_session_is_alive_just_before_the_idle_window_ends(
    app: Domain, logged_in: LoggedIn
) -> None:
    app.clock.advance(app.session_policy.browser.idle - SECOND)
    assert (await app.authenticate(logged_in.ticket)).session.id == logged_in.session.id


async def test_expired_session_is_removed_from_the_store_when_met(
    app: Domain, logged_in: LoggedIn
) -> None:
    digest = app.ticket_key.digest(logged_in.ticket)
    app.clock.advance(app.session_policy.browser.idle + SECOND)
    with pytest.raises(NotAuthenticated):
        await app.authenticate(logged_in.ticket)
    assert digest not in app.sessions.by_digest


async def test_activity_inside_the_idle_window_keeps_the_session_alive_across_windows(
    app: Domain, logged_in: LoggedIn
) -> None:
    idle = app.session_policy.browser.idle
    for _ in range(6):
        app.clock.advance(idle - SECOND)
        authenticated = await app.authenticate(logged_in.ticket)
        assert authenticated.session.expires_at == app.clock.now() + idle
    assert app.clock.now() - logged_in.session.created_at > 5 * idle


async def test_activity_cannot_keep_a_session_past_the_absolute_limit(
    app: Domain, logged_in: LoggedIn
) -> None:
    step = timedelta(minutes=20)
    absolute_deadline = logged_in.session.absolute_expires_at
    assert absolute_deadline == logged_in.session.created_at + app.session_policy.browser.absolute
    while app.clock.now() + step < absolute_deadline:
        app.clock.advance(step)
        authenticated = await app.authenticate(logged_in.ticket)
        assert authenticated.session.expires_at <= absolute_deadline
    assert authenticated.session.expires_at == absolute_deadline

    app.clock.advance(absolute_deadline - app.clock.now())
    with pytest.raises(NotAuthenticated):
        await app.authenticate(logged_in.ticket)
    assert app.sessions.by_digest == {}


async def test_remembered_session_outlives_the_browser_idle_window(app: Domain) -> None:
    await app.add_user("grace@example.com")
    remembered = await app.logged_in("grace@example.com", kind=SessionKind.REMEMBERED)
    app.clock.advance(timedelta(days=29))
    assert (await app.authenticate(remembered.ticket)).session.id == remembered.session.id
    app.clock.advance(timedelta(days=30))
    with pytest.raises(NotAuthenticated):
        await app.authenticate(remembered.ticket)


async def test_no_renewal_is_written_within_one_touch_interval(
    app: Domain, logged_in: LoggedIn
) -> None:
    writes = app.sessions.writes
    step = app.session_policy.touch_interval / 20
    for _ in range(19):
        app.clock.advance(step)
        authenticated = await app.authenticate(logged_in.ticket)
        assert not authenticated.renewed
    assert app.sessions.writes == writes
    assert app.sessions.by_digest[authenticated.digest] == logged_in.session


async def test_renewal_is_written_exactly_once_after_the_touch_interval(
    app: Domain, logged_in: LoggedIn
) -> None:
    writes = app.sessions.writes
    app.clock.advance(app.session_policy.touch_interval)
    renewed = await app.authenticate(logged_in.ticket)
    assert renewed.renewed
    for _ in range(10):
        assert not (await app.authenticate(logged_in.ticket)).renewed
    assert app.sessions.writes == writes + 1
    stored = app.sessions.by_digest[renewed.digest]
    assert stored.last_seen_at == app.clock.now()
    assert stored.expires_at == app.clock.now() + app.session_policy.browser.idle


async def test_renewals_over_many_requests_are_one_per_touch_interval(
    app: Domain, logged_in: LoggedIn
) -> None:
    writes = app.sessions.writes
    interval = app.session_policy.touch_interval
    for _ in range(5):
        for _ in range(10):
            app.clock.advance(interval / 10)
            await app.authenticate(logged_in.ticket)
    assert app.sessions.writes == writes + 5


async def test_ticket_replayed_after_log_out_is_refused(app: Domain, logged_in: LoggedIn) -> None:
    await app.log_out(logged_in.ticket)
    with pytest.raises(NotAuthenticated):
        await app.authenticate(logged_in.ticket)


class SessionsRevokedMidRequest(InMemorySessions):
    """Another request revokes the session just after this one has read it."""

    async def get(self, digest: str) -> Session | None:
        session = await super().get(digest)
        self.by_digest.pop(digest, None)
        return session


async def test_session_revoked_between_read_and_renewal_is_not_resurrected(
    build: Build,
) -> None:
    sessions = SessionsRevokedMidRequest()
    app = await build(sessions=sessions)
    logged_in = await app.sign_up()
    app.clock.advance(app.session_policy.touch_interval)
    with pytest.raises(NotAuthenticated):
        await app.authenticate(logged_in.ticket)
    assert sessions.by_digest == {}


class UsersThatCountReads(InMemoryUsers):
    reads = 0

    async def get(self, user_id: uuid.UUID) -> User | None:
        self.reads += 1
        return await super().get(user_id)


async def test_current_user_is_answered_from_the_session_without_reading_the_user_store(
    build: Build,
) -> None:
    users = UsersThatCountReads()
    app = await build(users=users)
    logged_in = await app.sign_up()
    users.reads = 0

    current = await app.current_user(await app.authenticate(logged_in.ticket))

    assert current == logged_in.user.public
    assert users.reads == 0


def _without_user_card(app: Domain, logged_in: LoggedIn) -> None:
    """Make the stored session look like one written before sessions carried the user."""
    digest = app.ticket_key.digest(logged_in.ticket)
    app.sessions.by_digest[digest] = evolve(app.sessions.by_digest[digest], user=None)


async def test_current_user_of_an_older_session_is_read_from_the_user_store(
    app: Domain, logged_in: LoggedIn
) -> None:
    _without_user_card(app, logged_in)
    current = await app.current_user(await app.authenticate(logged_in.ticket))
    assert current == logged_in.user.public


async def test_current_user_of_an_older_session_whose_user_is_gone_raises_not_authenticated(
    app: Domain, logged_in: LoggedIn
) -> None:
    _without_user_card(app, logged_in)
    authenticated = await app.authenticate(logged_in.ticket)
    del app.users.by_id[logged_in.user.id]
    with pytest.raises(NotAuthenticated):
        await app.current_user(authenticated)
