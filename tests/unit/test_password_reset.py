"""RequestPasswordReset and ResetPassword on the in-memory adapters."""

from __future__ import annotations

from datetime import timedelta

import pytest

from coatcheck.adapters.clock import FakeClock
from coatcheck.adapters.memory import (
    InMemoryAccountTokens,
    InMemoryOutbox,
    InMemorySessionEvents,
)
from coatcheck.domain.errors import EmailUnavailable, InvalidToken, TooManyEmails
from coatcheck.domain.events import EndReason, SessionsEnded
from coatcheck.domain.letters import Letter, LetterKind
from coatcheck.domain.model import Email, NewPassword, Password
from coatcheck.domain.tokens import OneTimeToken
from tests.unit.conftest import CLIENT, EMAIL, PASSWORD, Build, Domain

NEW = "a brand new passphrase"


async def reset_letter(app: Domain, outbox: InMemoryOutbox, email: str = EMAIL) -> Letter:
    await app.request_password_reset(Email(email), CLIENT)
    await outbox.settle()
    letter = outbox.letters[-1]
    assert letter.kind is LetterKind.PASSWORD_RESET
    return letter


def token_of(letter: Letter) -> OneTimeToken:
    assert letter.token is not None
    return letter.token


async def test_a_known_email_gets_a_link_whose_token_is_stored_only_as_a_digest(
    app: Domain, outbox: InMemoryOutbox, account_tokens: InMemoryAccountTokens
) -> None:
    user = await app.add_user()

    letter = await reset_letter(app, outbox)

    assert (letter.to, letter.name) == (user.email, user.name)
    assert letter.valid_for == timedelta(minutes=30)
    value = token_of(letter).value
    assert len(value) == 43  # 256 bits, URL-safe
    assert list(account_tokens.by_digest) == [app.ticket_key.digest(token_of(letter))]
    assert value not in repr(letter)


async def test_an_unknown_email_gets_nothing_and_the_request_looks_the_same(
    app: Domain, outbox: InMemoryOutbox, account_tokens: InMemoryAccountTokens
) -> None:
    assert await app.request_password_reset(Email("nobody@example.com"), CLIENT) is None
    await outbox.settle()

    assert outbox.letters == []
    assert account_tokens.by_digest == {}


async def test_nothing_is_looked_up_before_the_answer(app: Domain, outbox: InMemoryOutbox) -> None:
    await app.add_user()
    await app.request_password_reset(Email(EMAIL), CLIENT)

    assert outbox.letters == []  # written only once the outbox runs what was posted for later


async def test_reset_ends_every_session_and_starts_a_fresh_one(
    app: Domain, outbox: InMemoryOutbox
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
    app: Domain, outbox: InMemoryOutbox, clock: FakeClock
) -> None:
    await app.add_user()
    used = token_of(await reset_letter(app, outbox))
    await app.reset_password(used, NewPassword(NEW), CLIENT)
    late = token_of(await reset_letter(app, outbox))
    clock.advance(timedelta(minutes=30))

    with pytest.raises(InvalidToken):
        await app.reset_password(used, NewPassword(NEW), CLIENT)
    with pytest.raises(InvalidToken):
        await app.reset_password(late, NewPassword(NEW), CLIENT)


async def test_a_token_for_an_address_the_account_no_longer_has_is_refused(
    app: Domain, outbox: InMemoryOutbox
) -> None:
    user = await app.add_user()
    token = token_of(await reset_letter(app, outbox))
    await app.users.change_email(user.id, Email("ada.new@example.com"), user.email)

    with pytest.raises(InvalidToken):
        await app.reset_password(token, NewPassword(NEW), CLIENT)


async def test_a_log_in_and_a_newer_request_make_older_tokens_useless(
    app: Domain, outbox: InMemoryOutbox
) -> None:
    await app.add_user()
    older = token_of(await reset_letter(app, outbox))
    newer = token_of(await reset_letter(app, outbox))
    await app.logged_in()

    for token in (older, newer):
        with pytest.raises(InvalidToken):
            await app.reset_password(token, NewPassword(NEW), CLIENT)


async def test_requests_are_throttled_per_email_whether_or_not_it_is_known(
    app: Domain, outbox: InMemoryOutbox
) -> None:
    for email in (EMAIL, "nobody@example.com"):
        for _ in range(5):
            await app.request_password_reset(Email(email), CLIENT)
        with pytest.raises(TooManyEmails) as raised:
            await app.request_password_reset(Email(email), CLIENT)
        assert raised.value.retry_after_seconds == 3600


async def test_without_an_email_backend_the_request_is_refused(build: Build) -> None:
    app = await build(outbox=InMemoryOutbox(delivers=False))
    await app.add_user()
    with pytest.raises(EmailUnavailable):
        await app.request_password_reset(Email(EMAIL), CLIENT)
    assert (await app.logged_in(password=PASSWORD)).user.email == Email(EMAIL)


async def test_reset_tells_whoever_watches_the_sessions_that_it_ended_them(
    app: Domain, outbox: InMemoryOutbox, events: InMemorySessionEvents
) -> None:
    first = await app.sign_up()
    letter = await reset_letter(app, outbox)
    events.published.clear()

    await app.reset_password(token_of(letter), NewPassword(NEW), CLIENT)

    ended = [event for event in events.published if isinstance(event, SessionsEnded)]
    assert ended == [SessionsEnded(first.user.id, EndReason.PASSWORD_RESET, every=True)]
