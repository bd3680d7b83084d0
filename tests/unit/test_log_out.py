"""LogOut: the server forgets exactly the session the ticket names."""

from __future__ import annotations

import pytest

from coatcheck.domain.errors import NotAuthenticated
from coatcheck.domain.tickets import SessionTicket
from tests.unit.conftest import Domain


async def test_log_out_removes_exactly_that_session(app: Domain) -> None:
    await app.add_user("ada@example.com")
    await app.add_user("grace@example.com")
    leaving = await app.logged_in("ada@example.com")
    staying = await app.logged_in("ada@example.com")
    other = await app.logged_in("grace@example.com")

    await app.log_out(leaving.ticket)

    assert app.sessions.by_digest == {
        app.ticket_key.digest(staying.ticket): staying.session,
        app.ticket_key.digest(other.ticket): other.session,
    }
    with pytest.raises(NotAuthenticated):
        await app.authenticate(leaving.ticket)
    assert (await app.authenticate(staying.ticket)).session.id == staying.session.id


async def test_logging_out_twice_is_harmless(app: Domain) -> None:
    await app.add_user()
    leaving = await app.logged_in()
    staying = await app.logged_in()
    await app.log_out(leaving.ticket)
    await app.log_out(leaving.ticket)
    assert app.sessions.by_digest == {app.ticket_key.digest(staying.ticket): staying.session}


async def test_logging_out_without_a_ticket_is_harmless(app: Domain) -> None:
    logged_in = await app.sign_up()
    await app.log_out(None)
    assert app.sessions.by_digest == {app.ticket_key.digest(logged_in.ticket): logged_in.session}


async def test_logging_out_an_unknown_ticket_removes_nothing(app: Domain) -> None:
    logged_in = await app.sign_up()
    await app.log_out(SessionTicket.issue())
    assert app.sessions.by_digest == {app.ticket_key.digest(logged_in.ticket): logged_in.session}
