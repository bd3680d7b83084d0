"""Deleting an account, by its owner or an operator: nothing stays behind."""

from __future__ import annotations

import pytest

from coatcheck.adapters.memory import (
    InMemoryAccountTokens,
    InMemoryKnownDevices,
    InMemoryLoginAttempts,
    InMemorySessionEvents,
)
from coatcheck.domain.errors import NotAuthenticated, UserNotFound, WrongPassword
from coatcheck.domain.events import EndReason, SessionsEnded
from coatcheck.domain.letters import LetterKind, OrderKind
from coatcheck.domain.mail_throttle import recipient_key
from coatcheck.domain.model import Email, Password
from coatcheck.domain.throttle import account_key
from tests.unit.conftest import CLIENT, EMAIL, PASSWORD, Domain
from tests.unit.mailbag import Mailbag


async def test_deleting_my_account_removes_me_my_sessions_tokens_devices_and_counts(
    app: Domain,
    outbox: Mailbag,
    account_tokens: InMemoryAccountTokens,
    known_devices: InMemoryKnownDevices,
    attempts: InMemoryLoginAttempts,
) -> None:
    me = await app.sign_up()
    other = await app.logged_in()
    bob = await app.sign_up("bob@example.com")
    await app.request_password_reset(Email(EMAIL), CLIENT)
    await outbox.settle()
    assert account_tokens.by_digest
    assert me.user.id in known_devices.by_user
    reset_key = app.throttle_counts.stored(recipient_key(OrderKind.PASSWORD_RESET, Email(EMAIL)))
    assert reset_key in attempts.locks

    caller = await app.authenticate(me.ticket)
    await app.delete_account(caller, Password(PASSWORD), CLIENT)

    assert me.user.id not in app.users.by_id
    for ticket in (me.ticket, other.ticket):
        with pytest.raises(NotAuthenticated):
            await app.authenticate(ticket)
    assert [r.user_id for r in account_tokens.by_digest.values()] == [bob.user.id]
    assert me.user.id not in known_devices.by_user
    assert app.throttle_counts.stored(account_key(Email(EMAIL))) not in attempts.failures
    # The spacing of letters to the address stays (issue 18): else deleting and registering
    # again and again would write to it without limit.
    assert reset_key in attempts.locks
    assert (await app.authenticate(bob.ticket)).session.user_id == bob.user.id


async def test_registering_and_deleting_an_address_again_and_again_sends_it_one_letter(
    app: Domain, outbox: Mailbag
) -> None:
    """Each registration's verification letter counts against the address's limit, and the
    deletion of the account leaves that limit as it was: six cycles in a second, one letter."""
    for _ in range(6):
        me = await app.sign_up()
        await outbox.settle()  # its letter, resolved while the account is there
        await app.delete_account(await app.authenticate(me.ticket), Password(PASSWORD), CLIENT)

    await outbox.settle()
    assert [letter.kind for letter in outbox.letters] == [LetterKind.VERIFY_EMAIL]


async def test_a_wrong_password_deletes_nothing(app: Domain) -> None:
    me = await app.sign_up()
    caller = await app.authenticate(me.ticket)

    with pytest.raises(WrongPassword):
        await app.delete_account(caller, Password("not my password"), CLIENT)

    assert me.user.id in app.users.by_id
    await app.authenticate(me.ticket)


async def test_an_operator_deletes_a_user_by_email(app: Domain) -> None:
    me = await app.sign_up()
    await app.logged_in()

    assert await app.delete_user(Email(EMAIL)) == 2

    assert app.users.by_id == {}
    assert app.sessions.by_digest == {}
    with pytest.raises(UserNotFound):
        await app.delete_user(Email(EMAIL))
    assert me.user.email == Email(EMAIL)


async def test_deleting_an_account_tells_whoever_watches_its_sessions(
    app: Domain, events: InMemorySessionEvents
) -> None:
    me = await app.sign_up()
    events.published.clear()

    await app.delete_account(await app.authenticate(me.ticket), Password(PASSWORD), CLIENT)

    assert events.published == [SessionsEnded(me.user.id, EndReason.ACCOUNT_DELETED, every=True)]
