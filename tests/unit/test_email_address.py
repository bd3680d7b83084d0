"""Verifying the address and changing it, on the in-memory adapters."""

from __future__ import annotations

import pytest

from coatcheck.adapters.clock import FakeClock
from coatcheck.adapters.memory import InMemoryOutboxStore
from coatcheck.domain.errors import (
    EmailNotVerified,
    EmailTaken,
    InvalidToken,
    InvalidValue,
    TooManyEmails,
    WrongPassword,
)
from coatcheck.domain.letters import Letter, LetterKind
from coatcheck.domain.model import Email, Name, NewPassword, Password
from coatcheck.domain.sessions import LoggedIn
from coatcheck.domain.tokens import OneTimeToken
from tests.unit.conftest import CLIENT, EMAIL, PASSWORD, Build, Domain
from tests.unit.mailbag import Mailbag

NEW_EMAIL = "ada.new@example.com"


async def letters_of(outbox: Mailbag, kind: LetterKind) -> list[Letter]:
    await outbox.settle()
    return [letter for letter in outbox.letters if letter.kind is kind]


def token_of(letter: Letter) -> OneTimeToken:
    assert letter.token is not None
    return letter.token


async def test_registering_sends_a_verification_link(app: Domain, outbox: Mailbag) -> None:
    logged_in = await app.sign_up()

    [letter] = await letters_of(outbox, LetterKind.VERIFY_EMAIL)

    assert letter.to == logged_in.user.email
    assert logged_in.user.email_verified is False


async def test_verifying_rewrites_every_session_of_the_user_at_once(
    app: Domain, outbox: Mailbag
) -> None:
    first = await app.sign_up()
    second = await app.logged_in()
    [letter] = await letters_of(outbox, LetterKind.VERIFY_EMAIL)

    user = await app.verify_email(token_of(letter))

    assert user.email_verified is True
    for logged_in in (first, second):
        authenticated = await app.authenticate(logged_in.ticket)
        assert (await app.current_user(authenticated)).email_verified is True
    with pytest.raises(InvalidToken):
        await app.verify_email(token_of(letter))


async def test_resending_makes_the_older_link_useless_and_nothing_once_verified(
    app: Domain, outbox: Mailbag, clock: FakeClock
) -> None:
    logged_in = await app.sign_up()
    caller = await app.authenticate(logged_in.ticket)
    await app.resend_verification(caller, CLIENT)  # the registration's letter is that recent
    assert len(await letters_of(outbox, LetterKind.VERIFY_EMAIL)) == 1
    clock.advance(app.mail_throttle_policy.spacing)
    caller = await app.authenticate(logged_in.ticket)
    await app.resend_verification(caller, CLIENT)
    first, second = await letters_of(outbox, LetterKind.VERIFY_EMAIL)

    with pytest.raises(InvalidToken):
        await app.verify_email(token_of(first))
    await app.verify_email(token_of(second))
    await app.resend_verification(caller, CLIENT)

    assert len(await letters_of(outbox, LetterKind.VERIFY_EMAIL)) == 2


async def test_an_order_resolved_after_the_address_was_verified_sends_nothing(
    app: Domain, outbox: Mailbag, outbox_store: InMemoryOutboxStore
) -> None:
    logged_in = await app.sign_up()  # its verification is ordered, not yet resolved
    await app.users.verify_email(logged_in.user.id, logged_in.user.email)

    assert await letters_of(outbox, LetterKind.VERIFY_EMAIL) == []
    assert [entry.kind for entry in outbox_store.by_id.values()] == []


async def test_a_verified_address_can_be_required_to_log_in(build: Build, outbox: Mailbag) -> None:
    app = await build(require_verified_email=True)
    registered = await app.register_user(
        Email(EMAIL), Name("Ada Lovelace"), NewPassword(PASSWORD), CLIENT
    )
    assert registered.logged_in is None
    assert app.sessions.by_digest == {}

    with pytest.raises(EmailNotVerified):
        await app.logged_in()
    [letter] = await letters_of(outbox, LetterKind.VERIFY_EMAIL)
    await app.verify_email(token_of(letter))

    assert (await app.logged_in()).user.email_verified is True


async def change_asked(app: Domain, outbox: Mailbag) -> tuple[LoggedIn, Letter]:
    """Ada, signed up, has asked to change her email: her session, and the letter it sent."""
    logged_in = await app.sign_up()
    caller = await app.authenticate(logged_in.ticket)
    await app.request_email_change(caller, Password(PASSWORD), Email(NEW_EMAIL), CLIENT)
    [letter] = await letters_of(outbox, LetterKind.CONFIRM_NEW_EMAIL)
    return logged_in, letter


async def test_a_change_of_email_happens_when_the_link_sent_to_the_new_address_is_used(
    app: Domain, outbox: Mailbag
) -> None:
    logged_in, letter = await change_asked(app, outbox)
    assert letter.to == Email(NEW_EMAIL)
    assert app.users.by_id[logged_in.user.id].email == Email(EMAIL)  # nothing changed yet
    # Her own address, verified: the notice may say where the account went.
    await app.users.verify_email(logged_in.user.id, Email(EMAIL))

    user = await app.change_email(token_of(letter), CLIENT)

    assert (user.email, user.email_verified) == (Email(NEW_EMAIL), True)
    session_user = await app.current_user(await app.authenticate(logged_in.ticket))
    assert session_user == user
    [notice] = await letters_of(outbox, LetterKind.EMAIL_CHANGED)
    assert (notice.to, notice.new_email) == (Email(EMAIL), Email(NEW_EMAIL))


async def test_a_change_of_email_needs_the_password_and_another_address(
    app: Domain, outbox: Mailbag
) -> None:
    logged_in = await app.sign_up()
    caller = await app.authenticate(logged_in.ticket)

    with pytest.raises(WrongPassword):
        await app.request_email_change(caller, Password("wrong!"), Email(NEW_EMAIL), CLIENT)
    with pytest.raises(InvalidValue):
        await app.request_email_change(caller, Password(PASSWORD), Email(EMAIL), CLIENT)
    assert await letters_of(outbox, LetterKind.CONFIRM_NEW_EMAIL) == []


async def test_a_taken_new_address_answers_and_stores_as_a_free_one_and_its_owner_is_told(
    app: Domain, outbox: Mailbag, outbox_store: InMemoryOutboxStore
) -> None:
    logged_in = await app.sign_up()
    bob = await app.sign_up("bob@example.com")
    await app.users.verify_email(bob.user.id, bob.user.email)  # so the letter names him
    caller = await app.authenticate(logged_in.ticket)

    for new in ("BOB@example.com", NEW_EMAIL):
        assert (
            await app.request_email_change(caller, Password(PASSWORD), Email(new), CLIENT) is None
        )
    taken, free = [e for e in outbox_store.by_id.values() if e.kind == "change-email"]
    assert (taken.kind, free.kind) == ("change-email", "change-email")
    assert (taken.recipient, free.recipient) == ("bob@example.com", NEW_EMAIL)

    [warning] = await letters_of(outbox, LetterKind.ADDRESS_TAKEN)
    assert (warning.to, warning.name, warning.token) == (bob.user.email, bob.user.name, None)
    [link] = await letters_of(outbox, LetterKind.CONFIRM_NEW_EMAIL)
    assert link.to == Email(NEW_EMAIL)


async def test_asking_to_change_the_email_is_counted_by_the_mail_limit(
    app: Domain, outbox: Mailbag
) -> None:
    logged_in = await app.sign_up()
    caller = await app.authenticate(logged_in.ticket)
    for n in range(20):
        new = Email(f"probe{n}@example.com")
        await app.request_email_change(caller, Password(PASSWORD), new, CLIENT)
    with pytest.raises(TooManyEmails):
        await app.request_email_change(
            caller, Password(PASSWORD), Email("probe20@example.com"), CLIENT
        )


async def test_an_address_taken_before_the_link_is_used_is_refused(
    app: Domain, outbox: Mailbag
) -> None:
    logged_in, letter = await change_asked(app, outbox)
    await app.sign_up(NEW_EMAIL)

    with pytest.raises(EmailTaken):
        await app.change_email(token_of(letter), CLIENT)
    assert app.users.by_id[logged_in.user.id].email == Email(EMAIL)


async def test_links_sent_to_the_old_address_stop_working_after_a_change(
    app: Domain, outbox: Mailbag
) -> None:
    logged_in = await app.sign_up()
    caller = await app.authenticate(logged_in.ticket)
    await app.request_password_reset(Email(EMAIL), CLIENT)
    await app.request_email_change(caller, Password(PASSWORD), Email(NEW_EMAIL), CLIENT)
    [verify] = await letters_of(outbox, LetterKind.VERIFY_EMAIL)
    [reset] = await letters_of(outbox, LetterKind.PASSWORD_RESET)
    [change] = await letters_of(outbox, LetterKind.CONFIRM_NEW_EMAIL)

    await app.change_email(token_of(change), CLIENT)

    with pytest.raises(InvalidToken):
        await app.verify_email(token_of(verify))
    with pytest.raises(InvalidToken):
        await app.reset_password(token_of(reset), NewPassword("a brand new one"), CLIENT)
