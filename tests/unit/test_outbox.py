"""The outbox and the letters it writes: sent after the answer with retries, drained at
shutdown, a plain-text and an HTML part, links from the configured base URL, no secret in
a log line."""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta
from email.message import EmailMessage

import pytest

from coatcheck.adapters.email import ConsoleSender, LetterWriter, Outbox
from coatcheck.adapters.memory import InMemoryEmailSender
from coatcheck.domain.letters import Letter, LetterKind
from coatcheck.domain.model import ClientInfo, Email, Name
from coatcheck.domain.tokens import OneTimeToken
from tests.factories import NOW

WRITER = LetterWriter("coatcheck <no-reply@auth.example.com>", "https://auth.example.com/")
TOKEN = OneTimeToken.issue()


def letter(kind: LetterKind = LetterKind.PASSWORD_RESET, **fields: object) -> Letter:
    token = TOKEN if kind.carries_token else None
    return Letter(
        kind,
        Email("ada@example.com"),
        Name("Ada <Lovelace>"),
        NOW,
        token=token,
        valid_for=timedelta(minutes=30),
        **fields,
    )


def parts(message: EmailMessage) -> tuple[str, str]:
    text, markup = message.get_body(("plain",)), message.get_body(("html",))
    assert isinstance(text, EmailMessage)
    assert isinstance(markup, EmailMessage)
    return text.get_content(), markup.get_content()


@pytest.mark.parametrize("kind", list(LetterKind))
def test_every_letter_has_a_text_and_an_html_part_that_agree(kind: LetterKind) -> None:
    new_device = ClientInfo("Firefox/130", "203.0.113.7")
    message = WRITER(letter(kind, client=new_device, new_email=Email("ada.new@example.com")))
    text, markup = parts(message)

    assert message["To"] == "ada@example.com"
    assert message["From"] == "coatcheck <no-reply@auth.example.com>"
    assert message["Message-ID"].endswith("@auth.example.com>")
    assert "Hello Ada <Lovelace>," in text
    assert "Hello Ada &lt;Lovelace&gt;," in markup  # escaped in HTML
    link = WRITER.link(letter(kind))
    assert link in text
    assert f'href="{link}"' in markup
    assert (TOKEN.value in text) is kind.carries_token


def test_a_token_rides_in_the_fragment_of_a_link_from_the_base_url() -> None:
    assert (
        WRITER.link(letter()) == f"https://auth.example.com/account/#password-reset={TOKEN.value}"
    )
    assert WRITER.link(letter(LetterKind.NEW_DEVICE)) == "https://auth.example.com/account/"


async def test_letters_are_sent_after_posting_and_retried(caplog: pytest.LogCaptureFixture) -> None:
    sender = InMemoryEmailSender(failures=2)
    outbox = Outbox(sender, WRITER, first_delay=0.01)

    outbox.post(letter())
    assert sender.messages == []  # posting never waits
    await outbox.settle()

    assert len(sender.messages) == 1
    assert [r.getMessage() for r in caplog.records].count("email not sent, retrying") == 2
    assert TOKEN.value not in caplog.text
    assert "ada@example.com" not in caplog.text
    await outbox.close()


async def test_a_letter_that_keeps_failing_is_given_up_on(caplog: pytest.LogCaptureFixture) -> None:
    outbox = Outbox(InMemoryEmailSender(failures=99), WRITER, attempts=3, first_delay=0.01)
    outbox.post(letter())
    await outbox.settle()
    assert "email not sent, given up" in caplog.text
    await outbox.close()


async def test_a_letter_composed_later_is_written_off_the_posters_path() -> None:
    sender = InMemoryEmailSender()
    outbox = Outbox(sender, WRITER)
    started = asyncio.Event()

    async def compose() -> Letter | None:
        started.set()
        return letter(LetterKind.VERIFY_EMAIL)

    async def nothing() -> Letter | None:
        return None

    outbox.post_later(compose)
    outbox.post_later(nothing)
    assert not started.is_set()
    await outbox.settle()
    assert [message["Subject"] for message in sender.messages] == ["Verify your email address"]
    await outbox.close()


async def test_closing_drains_what_is_queued_and_then_takes_nothing() -> None:
    sender = InMemoryEmailSender()
    outbox = Outbox(sender, WRITER, workers=1)
    for _ in range(5):
        outbox.post(letter())

    await outbox.close()
    outbox.post(letter())

    assert len(sender.messages) == 5


async def test_a_full_outbox_drops_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    sender = InMemoryEmailSender()
    outbox = Outbox(sender, WRITER, capacity=2)
    for _ in range(3):
        outbox.post(letter())
    assert "email dropped: the outbox is full" in caplog.text
    await outbox.close()
    assert len(sender.messages) == 2


async def test_without_a_sender_letters_are_composed_and_dropped() -> None:
    outbox = Outbox(None, WRITER)
    composed = []

    async def compose() -> Letter | None:
        composed.append(True)
        return letter()

    outbox.post_later(compose)
    await outbox.close()
    assert outbox.delivers is False
    assert composed == [True]


async def test_the_console_sender_prints_the_message_and_its_link() -> None:
    stream = io.StringIO()
    await ConsoleSender(stream).send(WRITER(letter()))
    printed = stream.getvalue()
    assert "To: ada@example.com" in printed
    assert "Subject: Reset your password" in printed
    assert WRITER.link(letter()) in printed
