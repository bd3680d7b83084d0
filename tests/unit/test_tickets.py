"""Session tickets and the key that turns them into the only form the server keeps."""

from __future__ import annotations

import pytest

from coatcheck.domain.errors import InvalidValue, NotAuthenticated
from coatcheck.domain.tickets import DeviceToken, SessionTicket, TicketKey
from tests.unit.conftest import Build, Domain

SECRET = b"s" * 32


def test_issued_tickets_are_43_url_safe_characters() -> None:
    ticket = SessionTicket.issue()
    assert len(ticket.value) == 43
    assert SessionTicket.parse(ticket.value) == ticket


def test_issued_tickets_are_all_different() -> None:
    assert len({SessionTicket.issue().value for _ in range(1000)}) == 1000


def test_ticket_never_prints_its_value() -> None:
    ticket = SessionTicket.issue()
    assert ticket.value not in repr(ticket)
    assert ticket.value not in str(ticket)
    assert ticket.value not in f"{ticket}"
    assert ticket.value not in repr([ticket])


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "a" * 42,
        "a" * 44,
        "a" * 42 + "+",
        "a" * 42 + "/",
        "a" * 42 + "=",
        "a" * 42 + ".",
        "a" * 42 + " ",
        "a" * 42 + "é",
        " " + "a" * 42,
        "a" * 64,
        "s:" + "a" * 41,
    ],
)
def test_parse_refuses_junk(raw: str | None) -> None:
    assert SessionTicket.parse(raw) is None


def test_parse_accepts_the_whole_url_safe_alphabet() -> None:
    raw = "AZaz09-_" * 5 + "abc"
    assert SessionTicket.parse(raw) == SessionTicket(raw)


def test_ticket_key_refuses_a_short_secret_with_a_domain_error() -> None:
    with pytest.raises(InvalidValue, match="32 bytes"):
        TicketKey(b"s" * 31)


def test_ticket_key_never_prints_its_secret() -> None:
    key = TicketKey(b"top-secret-session-key-0123456789")
    assert "top-secret" not in repr(key)
    assert "top-secret" not in str(key)


def test_digest_is_stable_for_one_secret() -> None:
    ticket = SessionTicket.issue()
    assert TicketKey(SECRET).digest(ticket) == TicketKey(SECRET).digest(ticket)


def test_digest_differs_per_secret() -> None:
    ticket = SessionTicket.issue()
    assert TicketKey(SECRET).digest(ticket) != TicketKey(b"t" * 32).digest(ticket)


def test_digest_differs_per_ticket() -> None:
    key = TicketKey(SECRET)
    assert key.digest(SessionTicket.issue()) != key.digest(SessionTicket.issue())


def test_digest_is_hex_sha256_and_does_not_contain_the_ticket() -> None:
    ticket = SessionTicket.issue()
    digest = TicketKey(SECRET).digest(ticket)
    assert len(digest) == 64
    assert set(digest) <= set("0123456789abcdef")
    assert ticket.value not in digest


def test_the_mac_is_standard_hmac_sha256_so_stored_digests_outlive_a_release() -> None:
    # RFC 4231, test case 6: a key longer than SHA-256's block
    key = TicketKey(b"\xaa" * 131)
    assert key.mac("Test Using Larger Than Block-Size Key - Hash Key First") == (
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
    )


def test_one_key_s_macs_carry_nothing_from_one_message_to_the_next() -> None:
    key = TicketKey(SECRET)
    first, ticket = SessionTicket.issue(), SessionTicket.issue()
    alone = TicketKey(SECRET).digest(ticket)
    key.digest(first)
    assert key.digest(ticket) == alone
    assert key.digest(ticket) == alone
    device = DeviceToken.issue()
    assert key.device_digest("account", device) == TicketKey(SECRET).device_digest(
        "account", device
    )


def test_digest_is_not_a_valid_ticket() -> None:
    digest = TicketKey(SECRET).digest(SessionTicket.issue())
    assert SessionTicket.parse(digest) is None


async def test_ticket_made_from_a_stored_digest_is_refused(app: Domain) -> None:
    await app.sign_up()
    (stored_digest,) = app.sessions.by_digest
    with pytest.raises(NotAuthenticated):
        await app.authenticate(SessionTicket(stored_digest))
    with pytest.raises(NotAuthenticated):
        await app.authenticate(SessionTicket(stored_digest[:43]))


async def test_changing_the_session_secret_ends_every_session(app: Domain, build: Build) -> None:
    logged_in = await app.sign_up()
    rotated = await build(ticket_key=TicketKey(b"a brand new session secret, 32+ bytes"))
    with pytest.raises(NotAuthenticated):
        await rotated.authenticate(logged_in.ticket)


def test_a_ticket_with_a_trailing_newline_is_refused() -> None:
    ticket = SessionTicket.issue()
    assert SessionTicket.parse(ticket.value + "\n") is None
