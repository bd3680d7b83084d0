"""Password reset over HTTP and real email: the message is sent through SMTP to a local
server, its link's token is followed, and the reset ends every session and logs in anew.
A token works once, for a while, for its own user; the request tells nothing about which
emails have accounts; it is throttled per address and per client."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from aiohttp import ClientResponse

from coatcheck.adapters.clock import FakeClock
from tests.integration.conftest import CREDENTIALS, REGISTRATION, Client, MakeClient, MakeSettings
from tests.integration.http import COOKIE, bearer, register, settled, status_with_ticket, token
from tests.integration.mailbox import BASE_URL, Mailbox, html_of, link_of, text_of

EMAIL = REGISTRATION["email"]
NEW_PASSWORD = "a brand new passphrase"
RESET_SUBJECT = "Reset your password"
SPACING = timedelta(minutes=12)  # between letters of one kind to one address, by default


async def ask_reset(client: Client, email: str = EMAIL) -> ClientResponse:
    return await client.post("/authentication/password-reset", json={"email": email})


async def reset_token(client: Client, mailbox: Mailbox, email: str = EMAIL) -> str:
    """Ask for a reset of `email` and read the token of the link it sends."""
    assert (await ask_reset(client, email)).status == 202
    _page, action, value = link_of(await mailbox.next(email, RESET_SUBJECT))
    assert action == "password-reset"
    # The letter is at the sink before its sender has marked it sent: the tests' clock must
    # not jump past its lease meanwhile (a lease run out in fake time sends it again).
    await settled(client)
    return value


async def confirm(client: Client, value: str, password: str = NEW_PASSWORD) -> ClientResponse:
    body = {"token": value, "newPassword": password}
    return await client.post("/authentication/password-reset/confirm", json=body)


async def log_in_status(client: Client, password: str, email: str = EMAIL) -> int:
    client.session.cookie_jar.clear()
    body = {"email": email, "password": password}
    return (await client.post("/authentication/log-in", json=body)).status


async def test_a_reset_link_sent_over_smtp_resets_the_password_and_ends_every_session(
    mail_client: Client, mailbox: Mailbox
) -> None:
    client = mail_client
    old_cookie = (await register(client)).cookies[COOKIE].value
    old_token = await token(client)
    # Her address verified, so that letters to it greet her by name.
    _page, _action, verification = link_of(await mailbox.next(EMAIL, "Verify your email address"))
    verified = await client.post("/authentication/verify-email", json={"token": verification})
    assert verified.status == 204
    client.session.cookie_jar.clear()

    assert (await ask_reset(client)).status == 202
    message = await mailbox.next(EMAIL, RESET_SUBJECT)
    page, action, value = link_of(message)
    assert (page, action) == (f"{BASE_URL}/account/", "password-reset")
    assert message["From"] == "coatcheck <no-reply@coatcheck.test>"
    assert "Hello Ada Lovelace" in text_of(message)
    assert "30 minutes" in text_of(message)
    assert "<a href=" in html_of(message)

    answer = await confirm(client, value)

    assert answer.status == 200
    user = await answer.json()
    assert user["email"] == EMAIL
    assert user["emailVerified"] is True  # following the link proved the address
    fresh = answer.cookies[COOKIE].value
    assert await status_with_ticket(client, old_cookie) == 401
    client.session.cookie_jar.clear()
    assert (await client.get("/authentication", headers=bearer(old_token))).status == 401
    assert await status_with_ticket(client, fresh) == 200
    assert await log_in_status(client, REGISTRATION["password"]) == 401
    assert await log_in_status(client, NEW_PASSWORD) == 200
    notice = await mailbox.next(EMAIL, "Your password was reset")
    assert value not in text_of(notice)
    assert "reset" in text_of(notice)
    assert "changed" not in text_of(notice)


async def test_a_reset_token_cannot_be_used_twice(mail_client: Client, mailbox: Mailbox) -> None:
    await register(mail_client)
    value = await reset_token(mail_client, mailbox)
    assert (await confirm(mail_client, value)).status == 200

    again = await confirm(mail_client, value, "yet another passphrase")

    assert again.status == 400
    assert (await again.json())["type"] == "urn:coatcheck:problem:invalid-token"
    assert await log_in_status(mail_client, NEW_PASSWORD) == 200


async def test_an_expired_reset_token_is_refused(
    mail_client: Client, mailbox: Mailbox, clock: FakeClock
) -> None:
    await register(mail_client)
    value = await reset_token(mail_client, mailbox)

    clock.advance(timedelta(minutes=30, seconds=1))

    assert (await confirm(mail_client, value)).status == 400
    assert await log_in_status(mail_client, REGISTRATION["password"]) == 200


async def test_a_newer_request_a_log_in_and_a_password_change_make_older_links_useless(
    mail_client: Client, mailbox: Mailbox, clock: FakeClock
) -> None:
    client = mail_client
    await register(client)
    first = await reset_token(client, mailbox)
    clock.advance(SPACING)  # letters to one address are spaced
    second = await reset_token(client, mailbox)
    assert (await confirm(client, first)).status == 400  # a newer request came after it

    assert await log_in_status(client, REGISTRATION["password"]) == 200
    assert (await confirm(client, second)).status == 400  # a log-in came after it

    clock.advance(SPACING)
    third = await reset_token(client, mailbox)
    assert await log_in_status(client, REGISTRATION["password"]) == 200
    change = {"currentPassword": REGISTRATION["password"], "newPassword": NEW_PASSWORD}
    clock.advance(SPACING)
    fourth = await reset_token(client, mailbox)
    recent = {"password": REGISTRATION["password"]}  # the log-in is older than REAUTH_WINDOW
    assert (await client.post("/authentication/reauthenticate", json=recent)).status == 204
    assert (await client.post("/authentication/change-password", json=change)).status == 204
    await mailbox.next(EMAIL, "Your password was changed")  # the change is told, too
    assert (await confirm(client, third)).status == 400
    assert (await confirm(client, fourth, "yet another passphrase")).status == 400
    assert await log_in_status(client, NEW_PASSWORD) == 200


async def test_a_token_for_one_user_acts_on_that_user_only(
    mail_client: Client, mailbox: Mailbox
) -> None:
    client = mail_client
    await register(client)
    bob = {"email": "bob@example.com", "name": "Bob", "password": "bob's own password"}
    client.session.cookie_jar.clear()
    assert (await client.post("/authentication/register", json=bob)).status == 201
    bob_cookie = client.session.cookie_jar.filter_cookies(client.make_url("/"))[COOKIE].value
    ada_reset = await reset_token(client, mailbox)
    ada_verify = link_of(await mailbox.next(EMAIL, "Verify your email address"))[2]

    answer = await confirm(client, ada_reset)  # sent by a client that holds Bob's cookie

    assert answer.status == 200
    assert (await answer.json())["email"] == EMAIL
    assert await log_in_status(client, bob["password"], bob["email"]) == 200
    assert await log_in_status(client, NEW_PASSWORD) == 200
    assert await status_with_ticket(client, bob_cookie) == 401  # the client's old session ended
    change = await client.post("/authentication/change-email/confirm", json={"token": ada_verify})
    assert change.status == 400  # a token of one purpose does nothing for another


async def anatomy(response: ClientResponse) -> tuple[int, list[tuple[str, str]], bytes]:
    """Everything a client sees of an answer but its Date and its request id."""
    headers = sorted(
        (name, value)
        for name, value in response.headers.items()
        if name not in {"Date", "X-Request-ID"}
    )
    return response.status, headers, await response.read()


async def test_known_and_unknown_emails_get_byte_identical_answers(
    mail_client: Client, mailbox: Mailbox
) -> None:
    client = mail_client
    await register(client)
    client.session.cookie_jar.clear()
    await settled(client)
    before = len(mailbox.received)

    known = await ask_reset(client, EMAIL)
    unknown = await ask_reset(client, "nobody@example.com")

    assert known.status == 202
    assert await anatomy(known) == await anatomy(unknown)
    await settled(client)
    sent = [(message["To"], message["Subject"]) for _to, message in mailbox.received[before:]]
    assert sorted(sent) == [
        (EMAIL, RESET_SUBJECT),
        ("nobody@example.com", "No account for this address"),
    ]


@pytest.mark.parametrize("email", [EMAIL, "nobody@example.com"], ids=["known", "unknown"])
async def test_reset_letters_to_one_address_are_spaced_silently_known_or_not(
    mailbox: Mailbox,
    shared_settings: MakeSettings,
    make_client: MakeClient,
    clock: FakeClock,
    email: str,
) -> None:
    settings: dict[str, Any] = {**mailbox.settings(), "email_throttle_recipient_limit": 3}
    client = await make_client(shared_settings(**settings))
    await register(client)
    client.session.cookie_jar.clear()
    await settled(client)
    before = len(mailbox.to(email))

    answers = [await anatomy(await ask_reset(client, email)) for _ in range(3)]
    await settled(client)
    clock.advance(timedelta(minutes=20))  # an hour / 3 letters
    answers.append(await anatomy(await ask_reset(client, email)))
    await settled(client)

    assert [status for status, _headers, _body in answers] == [202] * 4
    assert len({(status, body) for status, _headers, body in answers}) == 1
    assert len(mailbox.to(email)) - before == 2


async def test_reset_requests_from_one_client_over_its_limit_answer_429(
    mailbox: Mailbox, shared_settings: MakeSettings, make_client: MakeClient
) -> None:
    settings: dict[str, Any] = {**mailbox.settings(), "email_throttle_client_limit": 2}
    client = await make_client(shared_settings(**settings))

    statuses = [(await ask_reset(client, f"n{n}@example.com")).status for n in range(2)]
    refused = await ask_reset(client, "n2@example.com")

    assert statuses == [202, 202]
    assert refused.status == 429
    assert (await refused.json())["type"] == "urn:coatcheck:problem:too-many-emails"
    assert int(refused.headers["Retry-After"]) == 3600


async def test_reset_requests_are_throttled_per_client_address(
    mailbox: Mailbox, shared_settings: MakeSettings, make_client: MakeClient
) -> None:
    client = await make_client(shared_settings(**mailbox.settings(), email_throttle_client_limit=3))

    statuses = [(await ask_reset(client, f"n{n}@example.com")).status for n in range(4)]

    assert statuses == [202, 202, 202, 429]


async def test_the_new_password_must_meet_the_policy_and_a_junk_token_is_refused(
    mail_client: Client, mailbox: Mailbox
) -> None:
    await register(mail_client)
    value = await reset_token(mail_client, mailbox)

    short = await confirm(mail_client, value, "short")
    junk = await confirm(mail_client, "not-a-token", NEW_PASSWORD)

    assert short.status == 400
    assert [error["field"] for error in (await short.json())["errors"]] == ["newPassword"]
    assert junk.status == 400
    assert (await confirm(mail_client, value)).status == 200  # the bad try did not use it up


async def test_no_token_and_no_address_appear_in_any_log_line(
    mail_client: Client, mailbox: Mailbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    await register(mail_client)
    value = await reset_token(mail_client, mailbox)
    assert (await confirm(mail_client, value)).status == 200
    await settled(mail_client)

    ours = [r for r in caplog.records if r.name != "mail.log"]  # not the test's SMTP server
    assert any(record.name == "coatcheck.email" for record in ours)
    for record in ours:
        line = record.getMessage() + repr(vars(record))
        assert value not in line
        assert EMAIL not in line
        assert CREDENTIALS["password"] not in line
