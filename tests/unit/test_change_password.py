"""ChangePassword: the current password must be right; every old session ends."""

from __future__ import annotations

import pytest

from coatcheck.domain.errors import (
    InvalidCredentials,
    NotAuthenticated,
    TooManyAttempts,
    WrongPassword,
)
from coatcheck.domain.model import NewPassword, Password, SessionKind
from coatcheck.domain.sessions import Authenticated, LoggedIn
from tests.unit.conftest import CLIENT, PASSWORD, Domain

NEW_PASSWORD = "a whole new passphrase"
GRACE = "grace@example.com"


@pytest.fixture
async def here(app: Domain) -> LoggedIn:
    """The session the password is changed from."""
    return await app.sign_up()


@pytest.fixture
async def elsewhere(app: Domain, here: LoggedIn) -> LoggedIn:
    """Another session of the same user, on another device."""
    return await app.logged_in()


async def _change(
    app: Domain, caller: Authenticated, current: str = PASSWORD, new: str = NEW_PASSWORD
) -> LoggedIn:
    return await app.change_password(caller, Password(current), NewPassword(new), CLIENT)


async def test_wrong_current_password_raises_wrong_password_and_changes_nothing(
    app: Domain, here: LoggedIn, elsewhere: LoggedIn
) -> None:
    caller = await app.authenticate(here.ticket)
    users_before = dict(app.users.by_id)
    sessions_before = dict(app.sessions.by_digest)

    with pytest.raises(WrongPassword):
        await _change(app, caller, current="not my password")

    assert app.users.by_id == users_before
    assert app.sessions.by_digest == sessions_before
    assert (await app.authenticate(elsewhere.ticket)).session.id == elsewhere.session.id


async def test_change_password_stores_a_new_hash_of_the_new_password(
    app: Domain, here: LoggedIn
) -> None:
    old_hash = app.users.by_id[here.user.id].password_hash
    await _change(app, await app.authenticate(here.ticket))
    new_hash = app.users.by_id[here.user.id].password_hash
    assert new_hash != old_hash
    assert NEW_PASSWORD not in new_hash
    assert await app.hasher.verify(Password(NEW_PASSWORD), new_hash)
    assert not await app.hasher.verify(Password(PASSWORD), new_hash)


async def test_change_password_ends_every_old_session(
    app: Domain, here: LoggedIn, elsewhere: LoggedIn
) -> None:
    changed = await _change(app, await app.authenticate(here.ticket))
    for old in (here, elsewhere):
        with pytest.raises(NotAuthenticated):
            await app.authenticate(old.ticket)
    assert app.sessions.by_digest == {app.ticket_key.digest(changed.ticket): changed.session}


async def test_the_ticket_returned_by_change_password_works(app: Domain, here: LoggedIn) -> None:
    changed = await _change(app, await app.authenticate(here.ticket))
    assert changed.ticket != here.ticket
    authenticated = await app.authenticate(changed.ticket)
    assert authenticated.session.id == changed.session.id
    assert authenticated.session.user_id == here.user.id


async def test_change_password_keeps_the_kind_of_the_callers_session(app: Domain) -> None:
    await app.add_user(GRACE)
    remembered = await app.logged_in(GRACE, kind=SessionKind.REMEMBERED)
    changed = await _change(app, await app.authenticate(remembered.ticket))
    assert changed.session.kind is SessionKind.REMEMBERED


async def test_after_a_change_the_old_password_fails_and_the_new_one_logs_in(
    app: Domain, here: LoggedIn
) -> None:
    await _change(app, await app.authenticate(here.ticket))
    with pytest.raises(InvalidCredentials):
        await app.logged_in(password=PASSWORD)
    logged_in = await app.logged_in(password=NEW_PASSWORD)
    assert logged_in.user.id == here.user.id


async def test_change_password_leaves_other_users_alone(app: Domain, here: LoggedIn) -> None:
    grace_user = await app.add_user(GRACE)
    grace = await app.logged_in(GRACE)
    await _change(app, await app.authenticate(here.ticket))
    assert app.users.by_id[grace_user.id] == grace_user
    assert (await app.authenticate(grace.ticket)).session.id == grace.session.id


async def test_wrong_current_passwords_are_throttled_like_log_ins(
    app: Domain, here: LoggedIn
) -> None:
    caller = await app.authenticate(here.ticket)
    for _ in range(app.throttle_policy.account_limit):
        with pytest.raises(WrongPassword):
            await _change(app, caller, current="guess")
    with pytest.raises(TooManyAttempts):
        await _change(app, caller)
    assert (await app.authenticate(here.ticket)).session.id == here.session.id
