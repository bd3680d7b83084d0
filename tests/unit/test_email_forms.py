"""One normal form of an address for every use; rows stored before it log in, unwritten to
(issue 18, item 3)."""

from __future__ import annotations

import uuid

import pytest

from coatcheck.adapters.email_forms import survey
from coatcheck.domain.errors import EmailTaken
from coatcheck.domain.model import Email, EmailPolicy, Name, NewPassword, Password, User
from tests.unit.conftest import CLIENT, PASSWORD, Domain
from tests.unit.mailbag import Mailbag


@pytest.mark.parametrize(
    "lookalike", ["\uff21da@example.com", "ADA@EXAMPLE.COM", "ada@Example.com "]
)
async def test_a_lookalike_of_a_registered_address_is_taken(app: Domain, lookalike: str) -> None:
    await app.sign_up("ada@example.com")
    with pytest.raises(EmailTaken):
        await app.sign_up(lookalike)


async def test_nfc_and_nfd_forms_of_an_address_are_one_account(app: Domain) -> None:
    await app.sign_up("\u00e1lvaro@example.com")
    with pytest.raises(EmailTaken):
        await app.sign_up("a\u0301lvaro@example.com")
    assert (await app.logged_in("a\u0301lvaro@example.com")).user.email.value == (
        "\u00e1lvaro@example.com"
    )


async def _old_row(app: Domain, stored: str) -> User:
    user = User(
        id=uuid.uuid4(),
        email=Email.stored(stored),
        name=Name("Old"),
        password_hash=await app.hasher.hash(Password(PASSWORD)),
        created_at=app.clock.now(),
    )
    await app.users.add(user)
    return user


async def test_an_old_row_that_is_no_mailbox_logs_in_and_is_never_written_to(
    app: Domain, outbox: Mailbag
) -> None:
    old = await _old_row(app, "x,victim@example.com")

    logged_in = await app.log_in(
        Email.for_log_in("x,victim@example.com"), Password(PASSWORD), CLIENT
    )
    caller = await app.authenticate(logged_in.ticket)
    await app.resend_verification(caller, CLIENT)
    await app.change_password(caller, Password(PASSWORD), NewPassword("another passphrase"), CLIENT)
    await outbox.settle()

    assert logged_in.user.id == old.id
    assert outbox.letters == []


def test_the_operators_list_counts_as_problems_the_domains_this_deployment_does_not_take() -> None:
    rows = [("1", "ada@example.test"), ("2", "bob@[192.0.2.1]"), ("3", "cy@example.com")]
    _, strict = survey(rows)
    assert [(p.user_id, p.kind) for p in strict] == [
        ("1", "not-one-mailbox"),
        ("2", "not-one-mailbox"),
    ]
    _, allowing = survey(rows, EmailPolicy(allow_test_domains=True))
    assert [p.user_id for p in allowing] == ["2"]
