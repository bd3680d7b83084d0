"""What letters say: a device as a person names it, a way back after an email change, a
reset told as a reset, and wording an operator sets in template files without code."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from coatcheck.adapters.email.letters import LetterWriter, load_templates
from coatcheck.domain.letters import Letter, LetterKind
from coatcheck.domain.model import ClientInfo, Email, Name
from coatcheck.entrypoints.resources import letter_writer
from coatcheck.entrypoints.settings import Settings
from tests.factories import NOW

FIREFOX = ClientInfo(
    "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0", "203.0.113.7"
)
SENDER = "coatcheck <no-reply@auth.example.com>"


def notice(kind: LetterKind) -> Letter:
    return Letter(
        kind,
        Email("ada@example.com"),
        Name("Ada Lovelace"),
        NOW,
        valid_for=timedelta(minutes=30),
        new_email=Email("mallory@example.net"),
        client=FIREFOX,
    )


def text_of(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert isinstance(body, EmailMessage)
    return str(body.get_content())


def written(kind: LetterKind, **settings: object) -> EmailMessage:
    return letter_writer(Settings(**settings))(notice(kind))  # type: ignore[arg-type]


def test_the_new_device_notice_names_the_device_as_the_account_page_does() -> None:
    text = text_of(written(LetterKind.NEW_DEVICE))

    assert "Firefox on Linux (address 203.0.113.7)" in text
    assert "Mozilla/5.0" not in text


def test_the_email_changed_notice_gives_the_old_address_someone_to_write_to() -> None:
    message = written(LetterKind.EMAIL_CHANGED, support_contact="help@example.com")
    text = text_of(message)

    assert message["To"] == "ada@example.com"  # the old address
    assert "mallory@example.net" in text
    assert "write at once to help@example.com" in text
    assert "operators" not in text


def test_without_a_support_contact_users_write_to_the_sender_address() -> None:
    text = text_of(written(LetterKind.EMAIL_CHANGED, email_from=SENDER))

    assert "write at once to no-reply@auth.example.com" in text


def test_a_reset_is_told_as_a_reset_not_as_a_change() -> None:
    reset = written(LetterKind.PASSWORD_RESET_DONE)
    changed = written(LetterKind.PASSWORD_CHANGED)

    assert reset["Subject"] == "Your password was reset"
    assert "was changed" not in text_of(reset)
    assert "emailed" in text_of(reset)
    assert changed["Subject"] == "Your password was changed"


def test_an_operator_s_folder_replaces_a_letter_s_wording_and_the_product_name(
    tmp_path: Path,
) -> None:
    (tmp_path / "new-device.txt").write_text(
        "Subject: $product: a new device\nLink: See it\n\nHi! $device just logged in.\n"
    )

    message = written(LetterKind.NEW_DEVICE, email_templates=tmp_path, product_name="Acme ID")

    assert message["Subject"] == "Acme ID: a new device"
    assert "Hi! Firefox on Linux (address 203.0.113.7) just logged in." in text_of(message)
    assert text_of(message).rstrip().endswith("- Acme ID")  # common.txt: still the packaged
    assert written(LetterKind.PASSWORD_CHANGED, email_templates=tmp_path)["Subject"] == (
        "Your password was changed"
    )


def test_a_template_with_an_unknown_placeholder_stops_the_start(tmp_path: Path) -> None:
    (tmp_path / "email-changed.txt").write_text("Subject: x\nLink: y\n\nHello $nmae\n")

    with pytest.raises(ValueError, match=r"email-changed\.txt: unknown placeholder"):
        load_templates(tmp_path)


def test_a_template_without_a_subject_stops_the_start(tmp_path: Path) -> None:
    (tmp_path / "verify-email.txt").write_text("Link: y\n\nHello\n")

    with pytest.raises(ValueError, match=r"verify-email\.txt: no Subject"):
        load_templates(tmp_path)


def test_a_name_that_looks_like_a_placeholder_is_written_as_it_is() -> None:
    letter = Letter(LetterKind.PASSWORD_CHANGED, Email("a@example.com"), Name("$link"), NOW)

    assert "Hello $link," in text_of(LetterWriter(SENDER, "https://auth.example.com")(letter))
