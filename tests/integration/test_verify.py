"""GET /authentication/verify, the forward-auth check of reverse proxies: the authenticated
check of GET /authentication, answered in headers; a ticket only from the bearer header or
the cookie, never an identity from what the client sent."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from coatcheck.adapters.clock import FakeClock
from coatcheck.entrypoints.http.identity import EMAIL, EMAIL_VERIFIED, SESSION_ID, USER_ID, Identity
from tests.integration.conftest import CREDENTIALS, REGISTRATION, Client, MakeClient, MakeSettings
from tests.integration.http import COOKIE, bearer, cookie, register, set_cookies, token
from tests.integration.mailbox import Mailbox, link_of
from tests.integration.test_http_store_down import NOBODY_LISTENS

VERIFY = "/authentication/verify"
IDENTITY_HEADERS = (USER_ID, EMAIL, SESSION_ID, EMAIL_VERIFIED)
GRACE = {"email": "grace@example.com", "name": "Grace Hopper", "password": "cobol forever"}


async def ticket_of(client: Client, registration: dict[str, str]) -> str:
    """Register someone and return their cookie's ticket; the jar is left empty."""
    response = await client.post("/authentication/register", json=registration)
    assert response.status == 201
    client.session.cookie_jar.clear()
    return set_cookies(response)[COOKIE][""]


async def test_a_live_cookie_is_answered_with_the_identity_in_headers_and_no_body(
    client: Client,
) -> None:
    registered = await (await register(client)).json()

    response = await client.get(VERIFY)

    assert response.status == 200
    assert await response.read() == b""
    assert response.headers[USER_ID] == registered["id"]
    assert response.headers[EMAIL] == REGISTRATION["email"]
    (session,) = await (await client.get("/authentication/sessions")).json()
    assert response.headers[SESSION_ID] == session["id"]
    assert response.headers["Cache-Control"] == "no-store"


async def test_a_bearer_token_is_answered_with_the_identity_and_no_cookie(client: Client) -> None:
    registered = await (await register(client)).json()
    headers = bearer(await token(client))
    client.session.cookie_jar.clear()

    response = await client.get(VERIFY, headers=headers)

    assert response.status == 200
    assert response.headers[USER_ID] == registered["id"]
    assert "Set-Cookie" not in response.headers


async def test_head_answers_as_get_does(client: Client) -> None:
    await register(client)

    response = await client.head(VERIFY)

    assert response.status == 200
    assert response.headers[EMAIL] == REGISTRATION["email"]


async def test_no_ticket_is_a_401_problem(client: Client) -> None:
    response = await client.get(VERIFY)

    assert response.status == 401
    assert response.content_type == "application/problem+json"
    assert USER_ID not in response.headers


async def test_a_logged_out_session_is_refused_and_its_cookie_cleared(client: Client) -> None:
    ticket = set_cookies(await register(client))[COOKIE][""]
    assert (await client.post("/authentication/log-out")).status == 204

    response = await client.get(VERIFY, headers=cookie(ticket))

    assert response.status == 401
    assert set_cookies(response)[COOKIE]["max-age"] == "0"


async def test_identity_headers_sent_by_the_client_are_never_believed(client: Client) -> None:
    ada = await ticket_of(client, REGISTRATION)
    grace = await ticket_of(client, GRACE)
    ada_is = (await client.get(VERIFY, headers=cookie(ada))).headers
    grace_is = (await client.get(VERIFY, headers=cookie(grace))).headers
    claims = {name: grace_is[name] for name in (USER_ID, EMAIL, SESSION_ID)}
    claims[EMAIL_VERIFIED] = "true"

    alone = await client.get(VERIFY, headers=claims)
    with_ada = await client.get(VERIFY, headers=cookie(ada) | claims)

    assert alone.status == 401
    assert with_ada.status == 200
    for name in IDENTITY_HEADERS:
        assert with_ada.headers.getall(name) == [ada_is[name]]
    assert ada_is[EMAIL_VERIFIED] == "false"


@pytest.mark.parametrize(
    ("header", "value"),
    [
        (SESSION_ID, "{}"),
        ("X-Forwarded-Authorization", "Bearer {}"),
        ("Authorization", "Basic {}"),
        ("Authorization", "Token {}"),
        ("Cookie", f"not-{COOKIE}={{}}"),
        ("X-Original-URI", "/?ticket={}"),
    ],
)
async def test_a_ticket_anywhere_but_the_bearer_header_or_the_cookie_is_ignored(
    client: Client, header: str, value: str
) -> None:
    ticket = await ticket_of(client, REGISTRATION)

    response = await client.get(VERIFY, headers={header: value.format(ticket)})
    in_the_query = await client.get(VERIFY, params={"ticket": ticket, COOKIE: ticket})

    assert response.status == 401
    assert in_the_query.status == 401


async def test_a_remembered_session_is_renewed_with_a_new_cookie_lifetime(
    client: Client, clock: FakeClock
) -> None:
    await register(client)
    await client.post("/authentication/log-in", json=CREDENTIALS | {"remember": True})

    quiet = await client.get(VERIFY)
    clock.advance(timedelta(seconds=61))
    renewed = await client.get(VERIFY)

    assert "Set-Cookie" not in quiet.headers
    assert renewed.status == 200
    assert int(set_cookies(renewed)[COOKIE]["max-age"]) == 30 * 24 * 60 * 60


async def test_verify_answers_as_who_am_i_does_for_the_same_ticket(client: Client) -> None:
    await register(client)

    who = await (await client.get("/authentication")).json()
    verified = await client.get(VERIFY)

    assert Identity.from_headers(verified.headers) == Identity(
        uuid.UUID(who["id"]), who["email"], verified.headers[SESSION_ID], who["emailVerified"]
    )


async def test_whether_the_address_is_verified_is_told_and_turns_true_at_once(
    mail_client: Client, mailbox: Mailbox
) -> None:
    client = mail_client
    ticket = set_cookies(await register(client))[COOKIE][""]
    before = await client.get(VERIFY, headers=cookie(ticket))
    _page, _action, value = link_of(
        await mailbox.next(REGISTRATION["email"], "Verify your email address")
    )
    client.session.cookie_jar.clear()
    assert (await client.post("/authentication/verify-email", json={"token": value})).status == 204

    after = await client.get(VERIFY, headers=cookie(ticket))

    assert before.headers.getall(EMAIL_VERIFIED) == ["false"]
    assert after.headers.getall(EMAIL_VERIFIED) == ["true"]
    found = Identity.from_headers(after.headers)
    assert found is not None
    assert found.email_verified is True


@pytest.mark.parametrize("value", [None, "", "yes", "1", "True"])
def test_an_answer_without_a_sound_email_verified_header_is_no_identity(value: str | None) -> None:
    headers = {
        USER_ID: "8a5c9e3e-2247-4d87-87cf-b15e71d67a48",
        EMAIL: "a@b.io",
        SESSION_ID: "88a44f35896f9be0",
    }
    if value is not None:
        headers[EMAIL_VERIFIED] = value

    assert Identity.from_headers(headers) is None


async def test_an_address_beyond_ascii_is_percent_encoded_and_reads_back(client: Client) -> None:
    unusual = REGISTRATION | {"email": "zoë+50%@exämple.com"}
    await client.post("/authentication/register", json=unusual)

    response = await client.get(VERIFY)

    # The domain in its one normal form, IDNA-encoded (issue 18); the local part as typed.
    assert response.headers[EMAIL] == "zo%C3%AB+50%25@xn--exmple-cua.com"
    found = Identity.from_headers(response.headers)
    assert found is not None
    assert found.email == "zo\u00eb+50%@xn--exmple-cua.com"


async def test_a_store_that_is_down_is_a_503_never_a_200(
    make_client: MakeClient, shared_settings: MakeSettings
) -> None:
    client = await make_client(shared_settings(redis_url=NOBODY_LISTENS))

    response = await client.get(VERIFY, headers=bearer("A" * 43))

    assert response.status == 503
    assert USER_ID not in response.headers
