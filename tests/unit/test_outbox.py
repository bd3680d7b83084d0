"""The outbox and the letters it writes: stored sealed, sent by its worker with retries that
keep one Message-ID, never retrying a refusal, never holding one recipient up behind another,
erased once sent, kept no longer than told; a plain-text and an HTML part, links from the
configured base URL, no secret in a log line."""

from __future__ import annotations

import asyncio
import io
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from email.message import EmailMessage
from typing import Protocol

import pytest
from prometheus_client import CollectorRegistry

from coatcheck.adapters.clock import FakeClock
from coatcheck.adapters.email import ConsoleSender, LetterWriter, Outbox
from coatcheck.adapters.email.outbox import OutboxPolicy
from coatcheck.adapters.email.outbox_metrics import OutboxMetrics
from coatcheck.adapters.email.sealed import Sealer, outbox_key
from coatcheck.adapters.memory import (
    InMemoryAccountTokens,
    InMemoryEmailSender,
    InMemoryOutboxStore,
    InMemoryUsers,
)
from coatcheck.domain.errors import InvalidValue
from coatcheck.domain.letters import Letter, LetterKind, Undeliverable
from coatcheck.domain.mail_orders import ResolveOrder
from coatcheck.domain.model import ClientInfo, Email, Name
from coatcheck.domain.ports import EmailSender, EntryState
from coatcheck.domain.tickets import TicketKey
from coatcheck.domain.token_issuer import TokenIssuer, TokenLifetimes
from coatcheck.domain.tokens import OneTimeToken
from tests.factories import NOW

WRITER = LetterWriter("coatcheck <no-reply@auth.example.com>", "https://auth.example.com/")
TOKEN = OneTimeToken.issue()
KEY = outbox_key(b"unit-test outbox secret, 32+ bytes long")
POLICY = OutboxPolicy(
    retry_for=timedelta(hours=1),
    first_delay=timedelta(seconds=10),
    max_delay=timedelta(minutes=10),
    retention=timedelta(days=1),
)


def letter(kind: LetterKind = LetterKind.PASSWORD_RESET, **fields: object) -> Letter:
    token = TOKEN if kind.carries_token else None
    values: dict[str, object] = {
        "to": Email("ada@example.com"),
        "name": Name("Ada <Lovelace>"),
        "at": NOW,
        "token": token,
        "valid_for": timedelta(minutes=30),
        **fields,
    }
    return Letter(kind, **values)  # type: ignore[arg-type]


def parts(message: EmailMessage) -> tuple[str, str]:
    text, markup = message.get_body(("plain",)), message.get_body(("html",))
    assert isinstance(text, EmailMessage)
    assert isinstance(markup, EmailMessage)
    return text.get_content(), markup.get_content()


class Attempts:
    """A sender that keeps every attempt's Message-ID, failing as told per address."""

    def __init__(self, failures: dict[str, int], refusing: set[str] | None = None) -> None:
        self.tried: list[tuple[str, str]] = []
        self.sent: list[EmailMessage] = []
        self._failures = failures
        self._refusing = refusing or set()

    async def send(self, message: EmailMessage) -> None:
        to = str(message["To"])
        self.tried.append((to, str(message["Message-ID"])))
        if to in self._refusing:
            raise Undeliverable("550")
        if self._failures.get(to, 0) > 0:
            self._failures[to] -= 1
            raise ConnectionRefusedError("down")
        self.sent.append(message)


class Make(Protocol):
    def __call__(self, sender: EmailSender | None, key: bytes = ...) -> Outbox: ...


@pytest.fixture
def store() -> InMemoryOutboxStore:
    tokens = InMemoryAccountTokens()
    return InMemoryOutboxStore(InMemoryUsers(tokens), tokens)


@pytest.fixture
def metrics() -> OutboxMetrics:
    return OutboxMetrics(CollectorRegistry())


@pytest.fixture
async def make(
    store: InMemoryOutboxStore, clock: FakeClock, metrics: OutboxMetrics
) -> AsyncIterator[Make]:
    made: list[Outbox] = []

    def build(sender: EmailSender | None, key: bytes = KEY) -> Outbox:
        tokens = InMemoryAccountTokens()
        issuer = TokenIssuer(tokens, TicketKey(b"k" * 32), clock, TokenLifetimes())
        resolve = ResolveOrder(InMemoryUsers(tokens), issuer, clock)
        outbox = Outbox(store, resolve, sender, WRITER, Sealer(key), clock, metrics, POLICY)
        made.append(outbox)
        return outbox

    yield build
    for outbox in made:
        await outbox.close()


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


def test_a_letter_to_an_address_without_an_account_greets_no_one() -> None:
    text, _ = parts(WRITER(letter(LetterKind.NO_ACCOUNT, name=None)))
    assert text.startswith("Hello,\n")


def test_a_token_rides_in_the_fragment_of_a_link_from_the_base_url() -> None:
    assert (
        WRITER.link(letter()) == f"https://auth.example.com/account/#password-reset={TOKEN.value}"
    )
    assert WRITER.link(letter(LetterKind.NEW_DEVICE)) == "https://auth.example.com/account/"


async def test_a_letter_is_stored_sealed_then_sent_and_erased(
    make: Make, store: InMemoryOutboxStore
) -> None:
    sender = InMemoryEmailSender()
    outbox = make(sender)
    outbox.post(letter())
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    [entry] = store.by_id.values()
    assert entry.content is not None
    assert TOKEN.value.encode() not in entry.content
    assert b"ada@example.com" not in entry.content  # sealed: only the recipient column says
    assert sender.messages == []  # posting never waits for sending

    await outbox.settle()

    assert len(sender.messages) == 1
    [entry] = store.by_id.values()
    assert (entry.state, entry.content) == (EntryState.SENT, None)


async def test_retries_back_off_and_keep_one_message_id(
    make: Make, clock: FakeClock, metrics: OutboxMetrics
) -> None:
    sender = Attempts({"ada@example.com": 3})
    outbox = make(sender)
    outbox.post(letter())
    await outbox.settle()
    for _ in range(3):
        clock.advance(timedelta(minutes=1))
        await outbox.settle()

    assert [to for to, _ in sender.tried] == ["ada@example.com"] * 4
    assert len({message_id for _, message_id in sender.tried}) == 1
    assert len(sender.sent) == 1
    assert metrics.retried._value.get() == 3
    assert metrics.sent._value.get() == 1


async def test_a_refusal_is_never_retried_and_holds_no_other_letter_up(
    make: Make, store: InMemoryOutboxStore, clock: FakeClock, metrics: OutboxMetrics
) -> None:
    sender = Attempts({}, refusing={"bad@example.com"})
    outbox = make(sender)
    outbox.post(letter(LetterKind.NEW_DEVICE, to=Email("bad@example.com")))
    outbox.post(letter(LetterKind.NEW_DEVICE))
    await outbox.settle()
    clock.advance(timedelta(hours=2))
    await outbox.settle()

    assert [to for to, _ in sender.tried].count("bad@example.com") == 1
    assert [message["To"] for message in sender.sent] == ["ada@example.com"]
    states = {entry.recipient: (entry.state, entry.last_error) for entry in store.by_id.values()}
    assert states["bad@example.com"] == (EntryState.FAILED, "550")
    assert metrics.failed.labels("refused")._value.get() == 1


async def test_a_server_down_too_long_is_given_up_on_after_the_retry_period(
    make: Make, store: InMemoryOutboxStore, clock: FakeClock, metrics: OutboxMetrics
) -> None:
    sender = Attempts({"ada@example.com": 1000})
    outbox = make(sender)
    outbox.post(letter(LetterKind.NEW_DEVICE))
    for _ in range(30):
        await outbox.settle()
        clock.advance(timedelta(minutes=5))
    [entry] = store.by_id.values()
    assert entry.state is EntryState.FAILED
    assert 5 <= len(sender.tried) <= 12  # doubling from 10 s, at most 10 min apart, for 1 h
    assert metrics.failed.labels("gave-up")._value.get() == 1


async def test_a_link_whose_token_expired_meanwhile_is_not_sent_and_is_erased(
    make: Make, store: InMemoryOutboxStore, clock: FakeClock
) -> None:
    sender = Attempts({"ada@example.com": 1000})
    outbox = make(sender)
    outbox.post(letter(at=clock.now()))
    await outbox.settle()
    clock.advance(timedelta(minutes=31))
    await outbox.settle()
    [entry] = store.by_id.values()
    assert (entry.state, entry.content) == (EntryState.FAILED, None)


async def test_sent_and_failed_letters_are_kept_only_for_the_retention_period(
    make: Make, store: InMemoryOutboxStore, clock: FakeClock
) -> None:
    outbox = make(Attempts({}, refusing={"bad@example.com"}))
    outbox.post(letter(LetterKind.NEW_DEVICE))
    outbox.post(letter(LetterKind.NEW_DEVICE, to=Email("bad@example.com")))
    await outbox.settle()
    assert len(store.by_id) == 2
    clock.advance(timedelta(days=1, seconds=1))
    await outbox.settle()
    assert store.by_id == {}


async def test_a_letter_sealed_under_another_key_fails_without_being_sent(
    make: Make, store: InMemoryOutboxStore
) -> None:
    sender = InMemoryEmailSender()
    before = make(sender, outbox_key(b"the key before, 32 bytes or more....."))
    before.post(letter())
    await asyncio.gather(*before._posting)
    await make(sender).settle()
    [entry] = store.by_id.values()
    assert (entry.state, entry.last_error, sender.messages) == (
        EntryState.FAILED,
        "unreadable",
        [],
    )


async def test_log_lines_carry_the_writers_request_id_and_no_secret(
    make: Make, store: InMemoryOutboxStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "coatcheck.email")
    ids = iter(["req-1", "req-2"])
    outbox = make(Attempts({"ada@example.com": 1}))
    outbox._request_id = lambda: next(ids)
    outbox.post(letter())
    outbox.post(letter(LetterKind.NEW_DEVICE, to=Email("bob@example.com")))
    await outbox.settle()

    lines = {(r.getMessage(), getattr(r, "request_id", None)) for r in caplog.records}
    assert ("email not sent, retrying", "req-1") in lines
    assert ("email sent", "req-2") in lines
    assert TOKEN.value not in caplog.text
    assert "ada@example.com" not in caplog.text


async def test_the_worker_runs_in_a_context_of_its_own(make: Make) -> None:
    from contextvars import ContextVar

    request: ContextVar[str] = ContextVar("request", default="none")
    seen: list[str] = []

    class Peeking(InMemoryEmailSender):
        async def send(self, message: EmailMessage) -> None:
            seen.append(request.get())
            await super().send(message)

    outbox = make(Peeking())
    request.set("the first request")
    outbox.start()
    outbox.post(letter())
    for _ in range(100):
        if seen:
            break
        await asyncio.sleep(0.01)
    assert seen == ["none"]


async def test_without_a_sender_letters_are_composed_and_dropped(
    make: Make, store: InMemoryOutboxStore
) -> None:
    outbox = make(None)
    composed = []

    async def compose() -> Letter | None:
        composed.append(True)
        return letter()

    outbox.post_later(compose)
    await outbox.settle()
    assert outbox.delivers is False
    assert composed == [True]
    assert store.by_id == {}


async def test_the_console_sender_prints_the_message_and_its_link() -> None:
    stream = io.StringIO()
    await ConsoleSender(stream).send(WRITER(letter()))
    printed = stream.getvalue()
    assert "To: ada@example.com" in printed
    assert "Subject: Reset your password" in printed
    assert WRITER.link(letter()) in printed


def test_a_sealed_content_opens_only_for_its_entry() -> None:
    sealer = Sealer(KEY)
    first, second = uuid.uuid4(), uuid.uuid4()
    sealed = sealer.seal(first, letter())
    assert sealer.open(first, sealed) == letter()
    with pytest.raises(InvalidValue):
        sealer.open(second, sealed)


def test_a_sealed_content_opens_only_under_its_key() -> None:
    entry = uuid.uuid4()
    sealed = Sealer(KEY).seal(entry, letter())
    with pytest.raises(InvalidValue):
        Sealer(outbox_key(b"another secret")).open(entry, sealed)
    assert "redacted" in repr(Sealer(KEY))
