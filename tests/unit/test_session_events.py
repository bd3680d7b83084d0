"""What the use-cases announce: every ending of a session, by public id and user, with its
reason; every start, as a change of the user's list. Nothing on the hot path, and nothing
for an expiry: watchers find those at the deadline. CheckSession never renews or deletes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from coatcheck.adapters.memory import InMemorySessionEvents
from coatcheck.domain.errors import NotAuthenticated
from coatcheck.domain.events import EndReason, SessionsChanged, SessionsEnded
from coatcheck.domain.model import Email, NewPassword, Password
from coatcheck.domain.sessions import SessionPolicy
from coatcheck.domain.tickets import SessionTicket
from tests.unit.conftest import CLIENT, PASSWORD, Build, Domain

ADA = "ada@example.com"


@pytest.fixture
async def ada(app: Domain, events: InMemorySessionEvents) -> Domain:
    await app.add_user(ADA)
    return app


async def test_a_log_in_announces_a_change_of_the_users_sessions(
    ada: Domain, events: InMemorySessionEvents
) -> None:
    logged_in = await ada.logged_in()
    assert events.published == [SessionsChanged(logged_in.user.id)]


async def test_a_log_out_announces_that_session_by_its_public_id(
    ada: Domain, events: InMemorySessionEvents
) -> None:
    logged_in = await ada.logged_in()
    events.published.clear()

    await ada.log_out(logged_in.ticket)

    assert events.published == [
        SessionsEnded(logged_in.user.id, EndReason.LOGGED_OUT, ids=(logged_in.session.id,))
    ]
    assert logged_in.ticket.value not in repr(events.published)


async def test_logging_out_a_ticket_that_names_no_session_announces_nothing(
    ada: Domain, events: InMemorySessionEvents
) -> None:
    await ada.log_out(SessionTicket.issue())
    await ada.log_out(None)
    assert events.published == []


async def test_a_log_in_over_a_held_session_announces_it_replaced(
    ada: Domain, events: InMemorySessionEvents
) -> None:
    first = await ada.logged_in()
    events.published.clear()

    second = await ada.log_in(Email(ADA), Password(PASSWORD), CLIENT, replacing=first.ticket)

    assert events.published == [
        SessionsEnded(first.user.id, EndReason.REPLACED, ids=(first.session.id,)),
        SessionsChanged(second.user.id),
    ]


async def test_revoking_one_session_announces_it_revoked(
    ada: Domain, events: InMemorySessionEvents
) -> None:
    here, there = await ada.logged_in(), await ada.logged_in()
    events.published.clear()

    await ada.revoke_session(await ada.authenticate(here.ticket), there.session.id)

    assert events.published == [
        SessionsEnded(here.user.id, EndReason.REVOKED, ids=(there.session.id,))
    ]


async def test_revoking_the_others_announces_every_session_but_the_callers(
    ada: Domain, events: InMemorySessionEvents
) -> None:
    here = await ada.logged_in()
    await ada.logged_in()
    events.published.clear()

    await ada.revoke_other_sessions(await ada.authenticate(here.ticket))

    [ended] = events.published
    assert ended == SessionsEnded(here.user.id, EndReason.REVOKED, every=True, kept=here.session.id)
    assert not ended.covers(here.session.id)
    assert ended.covers("any other id")


async def test_revoking_the_others_when_there_are_none_announces_nothing(
    ada: Domain, events: InMemorySessionEvents
) -> None:
    here = await ada.logged_in()
    events.published.clear()
    await ada.revoke_other_sessions(await ada.authenticate(here.ticket))
    assert events.published == []


async def test_a_password_change_announces_every_session_ended_then_the_new_one(
    ada: Domain, events: InMemorySessionEvents
) -> None:
    here = await ada.logged_in()
    await ada.logged_in()
    events.published.clear()

    await ada.change_password(
        await ada.authenticate(here.ticket),
        Password(PASSWORD),
        NewPassword("n3w passphrase"),
        CLIENT,
    )

    assert events.published == [
        SessionsEnded(here.user.id, EndReason.PASSWORD_CHANGED, every=True),
        SessionsChanged(here.user.id),
    ]


async def test_an_operators_revocations_are_announced(
    ada: Domain, events: InMemorySessionEvents
) -> None:
    one, _ = await ada.logged_in(), await ada.logged_in()
    events.published.clear()

    await ada.revoke_user_sessions(Email(ADA), one.session.id)
    await ada.revoke_user_sessions(Email(ADA))

    assert events.published == [
        SessionsEnded(one.user.id, EndReason.REVOKED, ids=(one.session.id,)),
        SessionsEnded(one.user.id, EndReason.REVOKED, every=True),
    ]


async def test_the_single_session_policy_announces_the_others_replaced(
    build: Build, events: InMemorySessionEvents
) -> None:
    app = await build(session_policy=SessionPolicy(single_session=True))
    await app.add_user(ADA)
    first = await app.logged_in()
    events.published.clear()

    await app.logged_in()

    assert events.published == [
        SessionsEnded(first.user.id, EndReason.REPLACED, every=True),
        SessionsChanged(first.user.id),
    ]


async def test_authenticating_announces_nothing_not_even_an_expiry(
    ada: Domain, events: InMemorySessionEvents
) -> None:
    logged_in = await ada.logged_in()
    events.published.clear()
    ada.clock.advance(timedelta(minutes=5))
    await ada.authenticate(logged_in.ticket)  # renewed
    ada.clock.advance(ada.session_policy.browser.idle)

    with pytest.raises(NotAuthenticated):
        await ada.authenticate(logged_in.ticket)  # expired, and deleted

    assert events.published == []


async def test_checking_a_session_never_renews_it(ada: Domain) -> None:
    logged_in = await ada.logged_in()
    writes = ada.sessions.writes
    ada.clock.advance(ada.session_policy.browser.idle / 2)

    checked = await ada.check_session(logged_in.ticket)

    assert checked.session == logged_in.session
    assert not checked.renewed
    assert ada.sessions.writes == writes


async def test_checking_an_expired_session_refuses_it_and_leaves_it_to_authenticate(
    ada: Domain,
) -> None:
    logged_in = await ada.logged_in()
    ada.clock.advance(ada.session_policy.browser.idle)
    writes = ada.sessions.writes

    with pytest.raises(NotAuthenticated):
        await ada.check_session(logged_in.ticket)
    with pytest.raises(NotAuthenticated):
        await ada.check_session(None)
    assert ada.sessions.writes == writes
