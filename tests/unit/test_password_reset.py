"""RequestPasswordReset and ResetPassword on the in-memory adapters."""

from __future__ import annotations

from datetime import timedelta

import pytest

from coatcheck.adapters.clock import FakeClock
from coatcheck.adapters.memory import (
    InMemoryAccountTokens,
    InMemoryOutboxStore,
    InMemorySessionEvents,
)
from coatcheck.domain.errors import EmailUnavailable, InvalidToken, TooManyEmails
from coatcheck.domain.events import EndReason, SessionsEnded
from coatcheck.domain.letters import Letter, LetterKind
from coatcheck.domain.model import ClientInfo, Email, NewPassword, Password
from coatcheck.domain.tokens import OneTimeToken
from tests.unit.conftest import CLIENT, EMAIL, PASSWORD, Build, Domain
from tests.unit.mailbag import Mailbag

SPACING = timedelta(minutes=12)  # an hour / 5 letters, the default

NEW = "a brand new passphrase"


async def reset_letter(app: Domain, outbox: Mailbag, email: str = EMAIL) -> Letter:
    before = len(outbox.letters)
    await app.request_password_reset(Email(email), CLIENT)
    await outbox.settle()
    [letter] = [new for new in outbox.letters[before:] if new.kind is LetterKind.PASSWORD_RESET]
    return letter


def token_of(letter: Letter) -> OneTimeToken:
    assert letter.token is not None
    return letter.token


async def test_a_known_email_gets_a_link_whose_token_is_stored_only_as_a_digest(
    app: Domain, outbox: Mailbag, account_tokens: InMemoryAccountTokens
) -> None:
    user = await app.add_user()
    await app.users.verify_email(user.id, user.email)  # so the letter names its owner

    letter = await reset_letter(app, outbox)

    assert (letter.to, letter.name) == (user.email, user.name)
    assert letter.valid_for == timedelta(minutes=30)
    value = token_of(letter).value
    assert len(value) == 43  # 256 bits, URL-safe
    assert list(account_tokens.by_digest) == [app.ticket_key.digest(token_of(letter))]
    assert value not in repr(letter)


async def test_an_unknown_email_stores_the_same_order_and_is_told_there_is_no_account(
    app: Domain,
    outbox: Mailbag,
    account_tokens: InMemoryAccountTokens,
    outbox_store: InMemoryOutboxStore,
) -> None:
    await app.add_user("known@example.com")
    for email in ("known@example.com", "nobody@example.com"):
        assert await app.request_password_reset(Email(email), CLIENT) is None
    known, unknown = outbox_store.by_id.values()
    assert (known.kind, known.recipient) == ("password-reset", "known@example.com")
    assert (unknown.kind, unknown.recipient) == ("password-reset", "nobody@example.com")
    assert (known.expires_at, known.state) == (unknown.expires_at, unknown.state)

    await outbox.settle()

    link, told = outbox.letters
    assert (link.kind, told.kind) == (LetterKind.PASSWORD_RESET, LetterKind.NO_ACCOUNT)
    assert (told.to, told.name, told.token) == (Email("nobody@example.com"), None, None)
    assert [record.email for record in account_tokens.by_digest.values()] == [link.to]


async def test_nothing_is_looked_up_before_the_answer(app: Domain, outbox: Mailbag) -> None:
    await app.add_user()
    await app.request_password_reset(Email(EMAIL), CLIENT)

    assert outbox.letters == []  # written only once the outbox runs what was posted for later


async def test_reset_ends_every_session_and_starts_a_fresh_one(
    app: Domain, outbox: Mailbag
) -> None:
    first = await app.sign_up()
    second = await app.logged_in()
    letter = await reset_letter(app, outbox)

    logged_in = await app.reset_password(token_of(letter), NewPassword(NEW), CLIENT)

    assert list(app.sessions.by_digest) == [app.ticket_key.digest(logged_in.ticket)]
    assert logged_in.ticket not in {first.ticket, second.ticket}
    stored = app.users.by_id[first.user.id]
    assert await app.hasher.verify(Password(NEW), stored.password_hash)
    assert stored.email_verified is True
    await outbox.settle()
    assert LetterKind.PASSWORD_RESET_DONE in [sent.kind for sent in outbox.letters]


async def test_a_token_is_single_use_and_expires(
    app: Domain, outbox: Mailbag, clock: FakeClock
) -> None:
    await app.add_user()
    used = token_of(await reset_letter(app, outbox))
    await app.reset_password(used, NewPassword(NEW), CLIENT)
    clock.advance(SPACING)
    late = token_of(await reset_letter(app, outbox))
    clock.advance(timedelta(minutes=30))

    with pytest.raises(InvalidToken):
        await app.reset_password(used, NewPassword(NEW), CLIENT)
    with pytest.raises(InvalidToken):
        await app.reset_password(late, NewPassword(NEW), CLIENT)


async def test_a_token_for_an_address_the_account_no_longer_has_is_refused(
    app: Domain, outbox: Mailbag
) -> None:
    user = await app.add_user()
    token = token_of(await reset_letter(app, outbox))
    await app.users.change_email(user.id, Email("ada.new@example.com"), user.email)

    with pytest.raises(InvalidToken):
        await app.reset_password(token, NewPassword(NEW), CLIENT)


async def test_a_log_in_and_a_newer_request_make_older_tokens_useless(
    app: Domain, outbox: Mailbag, clock: FakeClock
) -> None:
    await app.add_user()
    older = token_of(await reset_letter(app, outbox))
    clock.advance(SPACING)
    newer = token_of(await reset_letter(app, outbox))
    assert newer != older
    await app.logged_in()

    for token in (older, newer):
        with pytest.raises(InvalidToken):
            await app.reset_password(token, NewPassword(NEW), CLIENT)


async def test_requests_from_one_network_over_its_limit_answer_429(app: Domain) -> None:
    for n in range(20):
        await app.request_password_reset(Email(f"n{n}@example.com"), CLIENT)
    with pytest.raises(TooManyEmails) as raised:
        await app.request_password_reset(Email("n20@example.com"), CLIENT)
    assert raised.value.retry_after_seconds == 3600


async def test_requests_for_one_address_are_answered_alike_and_silently_spaced(
    app: Domain, outbox: Mailbag, clock: FakeClock
) -> None:
    await app.add_user()
    for email in (EMAIL, "nobody@example.com"):
        for n in range(6):
            client = ClientInfo("Mozilla/5.0 (Test)", f"198.51.{n}.7")
            assert await app.request_password_reset(Email(email), client) is None
    await outbox.settle()
    assert [letter.kind for letter in outbox.letters] == [
        LetterKind.PASSWORD_RESET,
        LetterKind.NO_ACCOUNT,
    ]
    clock.advance(SPACING)
    await reset_letter(app, outbox)


async def test_strangers_asking_all_hour_neither_lock_the_owner_out_nor_flood_the_inbox(
    app: Domain, outbox: Mailbag, account_tokens: InMemoryAccountTokens, clock: FakeClock
) -> None:
    """100 requests for the owner's address from 10 networks in an hour; whenever the owner
    asks too, from an 11th, the answer is the same and the newest link in the inbox works
    (within the 5 minutes the issue allows: here at once), and the inbox gets at most the
    recipient limit of letters in the hour."""
    await app.add_user()
    owner = ClientInfo("Owner's browser", "203.0.113.50")
    for minute in range(60):
        for n in range(2 if minute % 6 < 4 else 1):  # 100 in the hour, 10 per network
            stranger = ClientInfo("curl", f"198.51.{(minute + n) % 10}.1")
            await app.request_password_reset(Email(EMAIL), stranger)
        if minute % 7 == 3:
            assert await app.request_password_reset(Email(EMAIL), owner) is None
            await outbox.settle()
            newest = outbox.letters[-1]
            record = account_tokens.by_digest.get(app.ticket_key.digest(token_of(newest)))
            assert record is not None
            assert record.is_live(clock.now() + timedelta(minutes=5))
        clock.advance(timedelta(minutes=1))
    await outbox.settle()
    assert len(outbox.letters) <= 5


async def test_without_an_email_backend_the_request_is_refused(build: Build) -> None:
    app = await build(email_sender=None)
    await app.add_user()
    with pytest.raises(EmailUnavailable):
        await app.request_password_reset(Email(EMAIL), CLIENT)
    assert (await app.logged_in(password=PASSWORD)).user.email == Email(EMAIL)


async def test_reset_tells_whoever_watches_the_sessions_that_it_ended_them(
    app: Domain, outbox: Mailbag, events: InMemorySessionEvents
) -> None:
    first = await app.sign_up()
    letter = await reset_letter(app, outbox)
    events.published.clear()

    await app.reset_password(token_of(letter), NewPassword(NEW), CLIENT)

    ended = [event for event in events.published if isinstance(event, SessionsEnded)]
    assert ended == [SessionsEnded(first.user.id, EndReason.PASSWORD_RESET, every=True)]
