"""Verifying the address and changing it, over HTTP and real email (SMTP to a local server):
every answer with user JSON shows the new state at once, sessions' copies included; the
old address is told of a change; the address stays unique."""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiohttp import ClientResponse

from coatcheck.adapters.clock import FakeClock
from tests.integration.conftest import (
    CREDENTIALS,
    REGISTRATION,
    Client,
    MakeClient,
    MakeSettings,
)
from tests.integration.http import COOKIE, bearer, cookie, register, settled, token
from tests.integration.mailbox import Mailbox, link_of, text_of

EMAIL = REGISTRATION["email"]
NEW_EMAIL = "ada.lovelace@example.org"
VERIFY_SUBJECT = "Verify your email address"


async def verify(client: Client, value: str) -> ClientResponse:
    return await client.post("/authentication/verify-email", json={"token": value})


async def ask_change(client: Client, new_email: str, password: str | None = None) -> ClientResponse:
    body = {"currentPassword": password or REGISTRATION["password"], "newEmail": new_email}
    return await client.post("/authentication/change-email", json=body)


async def me(client: Client, ticket: str) -> dict[str, object]:
    client.session.cookie_jar.clear()
    response = await client.get("/authentication", headers=cookie(ticket))
    assert response.status == 200
    user: dict[str, object] = await response.json()
    return user


async def test_the_link_sent_at_registration_verifies_the_address_in_every_session_at_once(
    mail_client: Client, mailbox: Mailbox
) -> None:
    client = mail_client
    registered = await register(client)
    assert (await registered.json())["emailVerified"] is False
    ticket = registered.cookies[COOKIE].value
    bearer_token = await token(client)
    _page, action, value = link_of(await mailbox.next(EMAIL, VERIFY_SUBJECT))
    assert action == "verify-email"

    answer = await verify(client, value)

    assert answer.status == 204
    assert (await me(client, ticket))["emailVerified"] is True
    client.session.cookie_jar.clear()
    by_bearer = await client.get("/authentication", headers=bearer(bearer_token))
    assert (await by_bearer.json())["emailVerified"] is True
    assert (await verify(client, value)).status == 400  # used up
    logged_in = await client.post("/authentication/log-in", json=CREDENTIALS)
    assert (await logged_in.json())["emailVerified"] is True


async def test_resending_sends_a_new_link_and_the_old_one_stops_working(
    mail_client: Client, mailbox: Mailbox, clock: FakeClock
) -> None:
    client = mail_client
    await register(client)
    first = link_of(await mailbox.next(EMAIL, VERIFY_SUBJECT))[2]
    # The registration's letter counts against the address's limit: too soon, none is sent.
    assert (await client.post("/authentication/verify-email/resend")).status == 202
    await settled(client)
    assert len(mailbox.to(EMAIL)) == 1
    clock.advance(timedelta(minutes=12))  # the spacing: EMAIL_THROTTLE_WINDOW / its limit

    assert (await client.post("/authentication/verify-email/resend")).status == 202
    second = link_of(await mailbox.next(EMAIL, VERIFY_SUBJECT))[2]

    assert (await verify(client, first)).status == 400
    assert (await verify(client, second)).status == 204
    assert (await client.post("/authentication/verify-email/resend")).status == 202
    await settled(client)
    assert len(mailbox.to(EMAIL)) == 2  # nothing to send once verified
    client.session.cookie_jar.clear()
    assert (await client.post("/authentication/verify-email/resend")).status == 401


async def test_a_change_of_email_is_made_by_the_link_sent_to_the_new_address(
    mail_client: Client, mailbox: Mailbox
) -> None:
    client = mail_client
    ticket = (await register(client)).cookies[COOKIE].value
    bearer_token = await token(client)
    # Her address verified: the notice to it may tell where the account went.
    assert (await verify(client, link_of(await mailbox.next(EMAIL, VERIFY_SUBJECT))[2])).ok

    assert (await ask_change(client, NEW_EMAIL)).status == 202
    message = await mailbox.next(NEW_EMAIL, "Confirm your new email address")
    _page, action, value = link_of(message)
    assert action == "change-email"
    assert (await me(client, ticket))["email"] == EMAIL  # nothing changes before the link

    client.session.cookie_jar.clear()  # the link may be followed in any browser
    answer = await client.post("/authentication/change-email/confirm", json={"token": value})

    assert answer.status == 204
    user = await me(client, ticket)
    assert (user["email"], user["emailVerified"]) == (NEW_EMAIL, True)
    client.session.cookie_jar.clear()
    by_bearer = await client.get("/authentication", headers=bearer(bearer_token))
    assert (await by_bearer.json())["email"] == NEW_EMAIL
    verify_headers = await client.get("/authentication/verify", headers=cookie(ticket))
    assert verify_headers.headers["X-Auth-Email"] == NEW_EMAIL
    notice = await mailbox.next(EMAIL, "Your email address was changed")
    assert NEW_EMAIL in text_of(notice)
    old = {"email": EMAIL, "password": REGISTRATION["password"]}
    client.session.cookie_jar.clear()
    assert (await client.post("/authentication/log-in", json=old)).status == 401
    new = {"email": NEW_EMAIL, "password": REGISTRATION["password"]}
    assert (await client.post("/authentication/log-in", json=new)).status == 200
    again = await client.post("/authentication/change-email/confirm", json={"token": value})
    assert again.status == 400


async def test_a_change_needs_the_password_and_tells_not_whether_an_account_has_the_address(
    mail_client: Client, mailbox: Mailbox
) -> None:
    client = mail_client
    bob = {"email": "bob@example.com", "name": "Bob", "password": "bob's own password"}
    assert (await client.post("/authentication/register", json=bob)).status == 201
    client.session.cookie_jar.clear()
    await register(client)

    wrong = await ask_change(client, NEW_EMAIL, "not my password")
    taken = await ask_change(client, "BOB@example.com")
    free = await ask_change(client, "free@example.com")
    same = await ask_change(client, EMAIL)

    assert (wrong.status, (await wrong.json())["type"]) == (
        401,
        "urn:coatcheck:problem:wrong-password",
    )
    assert (taken.status, free.status, same.status) == (202, 202, 400)
    assert await taken.read() == await free.read()
    await settled(client)
    assert mailbox.to(NEW_EMAIL) == []
    [told] = [m for m in mailbox.to("bob@example.com") if "another account" in m["Subject"]]
    assert "#" not in text_of(told)  # no link that would do anything
    [link] = mailbox.to("free@example.com")
    assert link_of(link)[1] == "change-email"


async def test_an_address_taken_before_the_link_is_used_is_refused_with_409(
    mail_client: Client, mailbox: Mailbox
) -> None:
    client = mail_client
    ticket = (await register(client)).cookies[COOKIE].value
    assert (await ask_change(client, NEW_EMAIL)).status == 202
    value = link_of(await mailbox.next(NEW_EMAIL, "Confirm your new email address"))[2]
    client.session.cookie_jar.clear()
    someone = {"email": NEW_EMAIL, "name": "Someone", "password": "someone's password"}
    assert (await client.post("/authentication/register", json=someone)).status == 201

    answer = await client.post("/authentication/change-email/confirm", json={"token": value})

    assert answer.status == 409
    assert (await me(client, ticket))["email"] == EMAIL


async def test_a_log_in_from_a_browser_not_seen_before_is_told(
    mail_client: Client, mailbox: Mailbox
) -> None:
    client = mail_client
    await register(client)  # aiohttp's own User-Agent: the account's first device
    _page, _action, value = link_of(await mailbox.next(EMAIL, VERIFY_SUBJECT))
    assert (await verify(client, value)).status == 204  # only a verified address is told
    client.session.cookie_jar.clear()
    assert (await client.post("/authentication/log-in", json=CREDENTIALS)).status == 200
    firefox = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Firefox/130.0"}

    for _ in range(2):
        client.session.cookie_jar.clear()
        answer = await client.post("/authentication/log-in", json=CREDENTIALS, headers=firefox)
        assert answer.status == 200

    notice = await mailbox.next(EMAIL, "New log-in to your account")
    assert "Firefox on Linux (address 127.0.0.1)" in text_of(notice)
    assert "Mozilla/5.0" not in text_of(notice)
    await settled(client)
    notices = [m for m in mailbox.to(EMAIL) if m["Subject"] == "New log-in to your account"]
    assert len(notices) == 1


async def test_without_an_email_backend_the_routes_that_send_answer_503_and_the_rest_works(
    client: Client,
) -> None:
    registered = await register(client)
    assert (await registered.json())["emailVerified"] is False

    answers = [
        await client.post("/authentication/password-reset", json={"email": EMAIL}),
        await client.post("/authentication/verify-email/resend"),
        await ask_change(client, NEW_EMAIL),
    ]

    for answer in answers:
        assert answer.status == 503
        assert (await answer.json())["title"] == "Email not configured"
    assert (await client.get("/authentication")).status == 200
    junk = await verify(client, "x" * 43)
    assert (junk.status, (await junk.json())["type"]) == (
        400,
        "urn:coatcheck:problem:invalid-token",
    )


async def test_a_verified_address_can_be_required_before_log_in_succeeds(
    mailbox: Mailbox, shared_settings: MakeSettings, make_client: MakeClient
) -> None:
    settings = shared_settings(**mailbox.settings(), require_verified_email=True)
    client = await make_client(settings)

    registered = await client.post("/authentication/register", json=REGISTRATION)
    refused = await client.post("/authentication/log-in", json=CREDENTIALS)

    assert registered.status == 201
    assert COOKIE not in registered.cookies
    assert (refused.status, (await refused.json())["type"]) == (
        403,
        "urn:coatcheck:problem:email-not-verified",
    )
    value = link_of(await mailbox.next(EMAIL, VERIFY_SUBJECT))[2]
    assert (await verify(client, value)).status == 204
    logged_in = await client.post("/authentication/log-in", json=CREDENTIALS)
    assert logged_in.status == 200
    assert (await logged_in.json())["emailVerified"] is True


async def test_the_embedded_default_prints_links_to_standard_error(
    make_client: MakeClient, embedded_settings: MakeSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    client = await make_client(embedded_settings())
    await register(client)
    await settled(client)

    printed = capsys.readouterr().err
    assert "To: ada@example.com" in printed
    assert "http://localhost:8000/account/#verify-email=" in printed


async def test_shared_stores_print_links_only_when_told_to_and_warn_once(
    shared_settings: MakeSettings, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    await make_client(shared_settings(email_backend="console"))
    warnings = [r.getMessage() for r in caplog.records if "EMAIL_BACKEND=console" in r.getMessage()]
    assert len(warnings) == 1
    assert "\n" not in warnings[0]
