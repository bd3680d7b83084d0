"""UserSessions and RevokeUserSessions: an operator's view of a user's sessions, by email."""

from __future__ import annotations

from datetime import timedelta

import pytest

from coatcheck.domain.errors import NotAuthenticated, SessionNotFound, UserNotFound
from coatcheck.domain.model import Email
from coatcheck.domain.sessions import LoggedIn
from tests.unit.conftest import Domain

ADA = "ada@example.com"
GRACE = "grace@example.com"


@pytest.fixture
async def ada(app: Domain) -> list[LoggedIn]:
    await app.add_user(ADA)
    made = []
    for _ in range(3):
        app.clock.advance(timedelta(minutes=1))
        made.append(await app.logged_in(ADA))
    return made


@pytest.fixture
async def grace(app: Domain, ada: list[LoggedIn]) -> LoggedIn:
    await app.add_user(GRACE)
    return await app.logged_in(GRACE)


async def test_user_sessions_lists_the_users_live_sessions_newest_first(
    app: Domain, ada: list[LoggedIn], grace: LoggedIn
) -> None:
    listed = await app.user_sessions(Email(" ADA@example.com"))
    assert [session.id for session in listed] == [s.session.id for s in reversed(ada)]


async def test_user_sessions_leaves_out_expired_sessions(app: Domain, ada: list[LoggedIn]) -> None:
    app.clock.advance(app.session_policy.browser.idle)
    fresh = await app.logged_in(ADA)
    assert [session.id for session in await app.user_sessions(Email(ADA))] == [fresh.session.id]
    assert set(app.sessions.by_digest) == {app.ticket_key.digest(fresh.ticket)}


async def test_user_sessions_of_an_unknown_email_raises_user_not_found(app: Domain) -> None:
    with pytest.raises(UserNotFound):
        await app.user_sessions(Email("nobody@example.com"))


async def test_revoke_user_sessions_ends_all_of_them(
    app: Domain, ada: list[LoggedIn], grace: LoggedIn
) -> None:
    removed = await app.revoke_user_sessions(Email(ADA))
    assert removed == 3
    assert app.sessions.by_digest == {app.ticket_key.digest(grace.ticket): grace.session}
    for gone in ada:
        with pytest.raises(NotAuthenticated):
            await app.authenticate(gone.ticket)


async def test_revoke_user_sessions_by_id_ends_only_that_one(
    app: Domain, ada: list[LoggedIn], grace: LoggedIn
) -> None:
    removed = await app.revoke_user_sessions(Email(ADA), ada[1].session.id)
    assert removed == 1
    assert set(app.sessions.by_digest) == {
        app.ticket_key.digest(ada[0].ticket),
        app.ticket_key.digest(ada[2].ticket),
        app.ticket_key.digest(grace.ticket),
    }


async def test_revoke_user_sessions_of_an_unknown_email_raises_user_not_found(
    app: Domain, ada: list[LoggedIn]
) -> None:
    before = dict(app.sessions.by_digest)
    with pytest.raises(UserNotFound):
        await app.revoke_user_sessions(Email("nobody@example.com"))
    assert app.sessions.by_digest == before


async def test_revoke_user_sessions_with_an_unknown_id_raises_session_not_found(
    app: Domain, ada: list[LoggedIn]
) -> None:
    before = dict(app.sessions.by_digest)
    with pytest.raises(SessionNotFound):
        await app.revoke_user_sessions(Email(ADA), "no-such-session-id")
    assert app.sessions.by_digest == before


async def test_revoke_user_sessions_with_another_users_id_raises_session_not_found(
    app: Domain, ada: list[LoggedIn], grace: LoggedIn
) -> None:
    before = dict(app.sessions.by_digest)
    with pytest.raises(SessionNotFound):
        await app.revoke_user_sessions(Email(ADA), grace.session.id)
    assert app.sessions.by_digest == before
