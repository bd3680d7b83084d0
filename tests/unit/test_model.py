"""Domain values: each one normalises and validates itself, and secrets never print."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from coatcheck.domain.errors import InvalidValue
from coatcheck.domain.model import (
    EMAIL_MAX_LENGTH,
    NAME_MAX_LENGTH,
    ClientInfo,
    Email,
    EmailPolicy,
    Name,
    NewPassword,
    Password,
    SessionKind,
    User,
)
from coatcheck.domain.sessions import SessionLifetime, SessionPolicy, new_session_id
from tests.factories import NOW

# --- Email


@pytest.mark.parametrize(
    "raw", ["Ada@Example.COM", "  ada@example.com  ", "\tADA@EXAMPLE.COM\n", "ada@example.com"]
)
def test_email_is_normalised_to_lower_case_without_surrounding_spaces(raw: str) -> None:
    assert Email(raw).value == "ada@example.com"


def test_emails_differing_only_in_case_and_spaces_are_equal() -> None:
    assert Email(" ADA@example.com") == Email("ada@EXAMPLE.com ")


def test_email_prints_as_its_normalised_address() -> None:
    assert str(Email(" Ada@Example.com ")) == "ada@example.com"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "ada",
        "ada@",
        "@example.com",
        "ada@example",
        "ada@example.",
        "ada@.example.com",
        "ada@@example.com",
        "ada@exa@mple.com",
        "a da@example.com",
        "ada@exa mple.com",
    ],
)
def test_malformed_email_is_refused(raw: str) -> None:
    with pytest.raises(InvalidValue):
        Email(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "x,victim@example.com",  # a list: the sender would deliver to both
        "g:victim@example.com;",  # a group
        "victim@example.com(c1)",  # a comment
        "<victim@example.com>",  # angle brackets
        "Victim <victim@example.com>",  # a display name
        '"victim"@example.com',  # a quoted local part
        "dot@example.com.",  # a trailing dot: undeliverable, its retries delay others
        "victim@[192.0.2.1]",  # an IP-literal domain
        "victim@[IPv6:2001:db8::1]",
        "victim@localhost",
    ],
)
def test_an_email_that_is_not_one_addr_spec_mailbox_is_refused(raw: str) -> None:
    with pytest.raises(InvalidValue, match="one email address"):
        Email(raw)


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("\uff21da@example.com", "ada@example.com"),  # fullwidth A: NFKC
        ("a\u0301@example.com", "\u00e1@example.com"),  # NFD a + acute: the one NFC/NFKC form
        ("\u00e1@example.com", "\u00e1@example.com"),
        ("ada@B\u00fccher.DE", "ada@xn--bcher-kva.de"),  # IDNA-encoded, lower-cased
        ("ada@xn--bcher-kva.de", "ada@xn--bcher-kva.de"),
    ],
)
def test_lookalike_emails_have_one_normal_form(raw: str, normal: str) -> None:
    assert Email(raw).value == normal
    assert Email(raw) == Email(normal)


def test_an_address_stored_before_the_rule_is_kept_as_stored_and_is_no_mailbox() -> None:
    for stored in ("x,victim@example.com", "dot@example.com.", "\u00e1@b\u00fccher.de"):
        old = Email.stored(stored)
        assert old.value == stored
        assert old.is_mailbox is False
    assert Email.stored("ada@example.com").is_mailbox is True


def test_a_log_in_finds_an_old_row_by_the_form_it_was_stored_in() -> None:
    assert Email.for_log_in(" X,Victim@Example.com ").value == "x,victim@example.com"
    assert Email.for_log_in("x,victim@example.com").is_mailbox is False
    assert Email.for_log_in("\uff21da@example.com") == Email("ada@example.com")
    with pytest.raises(InvalidValue):
        Email.for_log_in("no address at all")


@pytest.mark.parametrize("raw", ["ada@[192.0.2.1]", "ada@[IPv6:2001:db8::1]"])
def test_an_ip_literal_domain_is_refused_unless_the_deployment_allows_it(raw: str) -> None:
    with pytest.raises(InvalidValue, match="one email address"):
        EmailPolicy().email(raw)
    allowed = EmailPolicy(allow_ip_literal=True).email(raw)
    assert allowed.value == raw.lower()
    assert allowed.is_ip_literal
    assert EmailPolicy(allow_ip_literal=True).admits(allowed)
    assert not EmailPolicy().admits(allowed)  # a row stored while allowed: no letter since
    with pytest.raises(InvalidValue):
        EmailPolicy(allow_test_domains=True).email(raw)  # one setting does not open the other


@pytest.mark.parametrize("raw", ["ada@example.test", "ada@test", "ada@bench.example.test"])
def test_a_test_domain_is_refused_unless_the_deployment_allows_it(raw: str) -> None:
    with pytest.raises(InvalidValue, match="one email address"):
        Email(raw)
    with pytest.raises(InvalidValue, match="one email address"):
        EmailPolicy().email(raw)
    allowed = EmailPolicy(allow_test_domains=True).email(raw)
    assert allowed.is_test_domain
    assert EmailPolicy(allow_test_domains=True).admits(allowed)
    assert not EmailPolicy().admits(Email.stored(allowed.value))


@pytest.mark.parametrize(
    "raw",
    [
        "ada@localhost",
        "ada@box.localhost",
        "ada@example.invalid",
        "ada@printer.local",
        "ada@hidden.onion",
        "ada@1.0.0.127.in-addr.arpa",
    ],
)
def test_other_special_use_domains_are_refused_whatever_the_settings(raw: str) -> None:
    with pytest.raises(InvalidValue, match="one email address"):
        EmailPolicy(allow_ip_literal=True, allow_test_domains=True).email(raw)


def test_a_stored_row_of_an_allowed_domain_reads_back_as_a_mailbox() -> None:
    for stored in ("ada@example.test", "ada@[192.0.2.1]"):
        assert Email.stored(stored).is_mailbox is True
        assert Email.for_log_in(stored).value == stored
    allow_all = EmailPolicy(allow_ip_literal=True, allow_test_domains=True)
    assert not allow_all.admits(Email.stored("x,victim@example.com"))  # never one mailbox


def test_the_mailbox_of_an_address_is_it_without_a_plus_tag() -> None:
    assert Email("ada+shop@example.com").mailbox == "ada@example.com"
    assert Email("ada+a+b@example.com").mailbox == "ada@example.com"
    assert Email("ada@example.com").mailbox == "ada@example.com"
    assert Email("+tag@example.com").mailbox == "+tag@example.com"  # no mailbox before it
    assert Email("ada+shop@example.com") != Email("ada@example.com")  # accounts: distinct


def test_email_of_the_maximum_length_is_accepted() -> None:
    domain = "@example.com"
    raw = "a" * (EMAIL_MAX_LENGTH - len(domain)) + domain
    assert len(Email(raw).value) == EMAIL_MAX_LENGTH


def test_email_over_254_characters_is_refused() -> None:
    domain = "@example.com"
    with pytest.raises(InvalidValue):
        Email("a" * (EMAIL_MAX_LENGTH + 1 - len(domain)) + domain)


def test_email_length_is_counted_after_trimming_spaces() -> None:
    domain = "@example.com"
    raw = "  " + "a" * (EMAIL_MAX_LENGTH - len(domain)) + domain + "  "
    assert len(Email(raw).value) == EMAIL_MAX_LENGTH


def test_invalid_email_message_does_not_repeat_the_input() -> None:
    with pytest.raises(InvalidValue) as raised:
        Email("<script>nope")
    assert "<script>" not in str(raised.value)


# --- Name


def test_name_is_trimmed() -> None:
    assert Name("  Ada Lovelace \t").value == "Ada Lovelace"


@pytest.mark.parametrize("raw", ["", "   ", "\t\n"])
def test_empty_name_is_refused(raw: str) -> None:
    with pytest.raises(InvalidValue, match="empty"):
        Name(raw)


def test_name_of_the_maximum_length_is_accepted() -> None:
    assert Name("a" * NAME_MAX_LENGTH).value == "a" * NAME_MAX_LENGTH


def test_too_long_name_is_refused() -> None:
    with pytest.raises(InvalidValue, match="at most"):
        Name("a" * (NAME_MAX_LENGTH + 1))


@pytest.mark.parametrize(
    "raw",
    ["Ada\x00Lovelace", "Ada\nLovelace", "Ada\x1b[31m", "Ada\u200bLovelace", "Ada\u202eecalevoL"],
)
def test_name_with_control_characters_is_refused(raw: str) -> None:
    with pytest.raises(InvalidValue, match="control characters"):
        Name(raw)


def test_name_may_hold_letters_of_any_script() -> None:
    assert Name("Zoë Åström 李").value == "Zoë Åström 李"


# --- Password and NewPassword


def test_password_of_72_bytes_is_accepted() -> None:
    assert Password("a" * 72).value == "a" * 72


def test_password_of_73_bytes_is_refused() -> None:
    with pytest.raises(InvalidValue, match="72 bytes"):
        Password("a" * 73)


def test_password_of_24_euro_signs_is_72_bytes_and_accepted() -> None:
    raw = "€" * 24
    assert len(raw.encode()) == 72
    assert Password(raw).value == raw


def test_password_of_25_characters_over_72_bytes_is_refused() -> None:
    raw = "€" * 24 + "a"
    assert len(raw) == 25
    with pytest.raises(InvalidValue):
        Password(raw)


def test_password_for_log_in_has_no_minimum_length_but_one_character() -> None:
    # The length policy is for choosing a password; a short one simply fails to match.
    assert Password("x").value == "x"


@pytest.mark.parametrize("factory", [Password, NewPassword])
def test_an_empty_password_is_refused(factory: type[Password]) -> None:
    # bcrypt reads "" as a key of NUL bytes: it would match a hash of NULs made before.
    with pytest.raises(InvalidValue, match="empty"):
        factory("")


@pytest.mark.parametrize(
    "raw",
    [
        "\x00" * 10,
        "correct\x00horse",
        "correct\thorse",
        "correct\rhorse",
        "del\x7fete me",
        "nel\x85nel",
    ],
    ids=["nuls", "nul", "tab", "cr", "del", "c1"],
)
@pytest.mark.parametrize("factory", [Password, NewPassword])
def test_a_password_with_nul_or_control_characters_is_refused(
    factory: type[Password], raw: str
) -> None:
    with pytest.raises(InvalidValue, match="control characters"):
        factory(raw)


@pytest.mark.parametrize(
    ("typed", "normalised"),
    [
        ("cre\u0300me bru\u0302le\u0301e", "crème brûlée"),  # decomposed, as some keyboards type
        ("\uff30\uff41\uff53\uff53\uff57\uff4f\uff52\uff44", "Password"),  # full-width forms
        ("\ufb01sh and chips", "fish and chips"),  # a ligature
    ],
    ids=["decomposed", "full-width", "ligature"],
)
@pytest.mark.parametrize("factory", [Password, NewPassword])
def test_a_password_is_normalised_to_nfkc(
    factory: type[Password], typed: str, normalised: str
) -> None:
    assert factory(typed).value == normalised
    assert factory(typed) == factory(normalised)


def test_a_password_in_nfkc_already_has_no_other_form_to_try() -> None:
    assert Password("crème brûlée").as_typed() is None


def test_a_password_typed_in_another_form_keeps_that_form_for_older_hashes() -> None:
    typed = Password("cre\u0300me bru\u0302le\u0301e").as_typed()
    assert typed is not None
    assert typed.value == "cre\u0300me bru\u0302le\u0301e"


def test_new_password_length_counts_the_normalised_characters() -> None:
    assert NewPassword("e\u0301" * 8).value == "\u00e9" * 8
    with pytest.raises(InvalidValue, match="at least 8"):
        NewPassword("e\u0301" * 4)  # 8 code points typed, 4 characters once composed


def test_new_password_of_7_characters_is_refused() -> None:
    with pytest.raises(InvalidValue, match="at least 8"):
        NewPassword("a" * 7)


def test_new_password_of_8_characters_is_accepted() -> None:
    assert NewPassword("a" * 8).value == "a" * 8


def test_new_password_minimum_counts_characters_not_bytes() -> None:
    with pytest.raises(InvalidValue):
        NewPassword("€" * 7)  # 21 bytes, but 7 characters
    assert NewPassword("€" * 8).value == "€" * 8


def test_new_password_over_72_bytes_is_refused() -> None:
    with pytest.raises(InvalidValue, match="72 bytes"):
        NewPassword("€" * 24 + "a")


def test_new_password_is_a_password() -> None:
    assert isinstance(NewPassword("a" * 8), Password)


@pytest.mark.parametrize("kind", [Password, NewPassword])
def test_password_never_prints_its_value(kind: type[Password]) -> None:
    password = kind("hunter2-secret-value")
    assert "hunter2" not in repr(password)
    assert "hunter2" not in str(password)
    assert "hunter2" not in f"{password}"
    assert "hunter2" not in repr([password])


def test_password_error_message_does_not_repeat_the_password() -> None:
    with pytest.raises(InvalidValue) as raised:
        Password("secret-" * 20)
    assert "secret" not in str(raised.value)


# --- User


def test_user_never_prints_its_password_hash() -> None:
    password_hash = "$2b$04$" + "h" * 53
    user = User(
        id=uuid.uuid4(),
        email=Email("ada@example.com"),
        name=Name("Ada"),
        password_hash=password_hash,
        created_at=NOW,
    )
    assert password_hash not in repr(user)
    assert "hhhhhhhh" not in str(user)
    assert "ada@example.com" in repr(user)


# --- ClientInfo


def test_client_user_agent_is_clipped_to_256_characters() -> None:
    assert ClientInfo("x" * 1000, "203.0.113.7").user_agent == "x" * 256


# --- SessionPolicy


def test_browser_session_starts_with_the_browser_idle_and_absolute_lifetimes() -> None:
    policy = SessionPolicy()
    session = policy.start(uuid.uuid4(), SessionKind.BROWSER, ClientInfo(), NOW)
    assert session.created_at == session.last_seen_at == NOW
    assert session.expires_at == NOW + policy.browser.idle
    assert session.absolute_expires_at == NOW + policy.browser.absolute


@pytest.mark.parametrize("kind", [SessionKind.REMEMBERED, SessionKind.TOKEN])
def test_persistent_sessions_start_with_the_persistent_lifetimes(kind: SessionKind) -> None:
    policy = SessionPolicy()
    session = policy.start(uuid.uuid4(), kind, ClientInfo(), NOW)
    assert session.expires_at == NOW + policy.persistent.idle
    assert session.absolute_expires_at == NOW + policy.persistent.absolute


def test_idle_deadline_never_starts_past_the_absolute_one() -> None:
    short = SessionLifetime(idle=timedelta(hours=2), absolute=timedelta(hours=1))
    policy = SessionPolicy(browser=short)
    session = policy.start(uuid.uuid4(), SessionKind.BROWSER, ClientInfo(), NOW)
    assert session.expires_at == session.absolute_expires_at == NOW + timedelta(hours=1)


def test_session_ids_are_unique_and_random() -> None:
    policy = SessionPolicy()
    user_id = uuid.uuid4()
    ids = {policy.start(user_id, SessionKind.BROWSER, ClientInfo(), NOW).id for _ in range(100)}
    assert len(ids) == 100


def test_renewal_is_not_due_within_the_touch_interval() -> None:
    policy = SessionPolicy()
    session = policy.start(uuid.uuid4(), SessionKind.BROWSER, ClientInfo(), NOW)
    assert policy.renewal(session, NOW + policy.touch_interval - timedelta(seconds=1)) is None


def test_renewal_slides_the_idle_deadline_once_the_touch_interval_has_passed() -> None:
    policy = SessionPolicy()
    session = policy.start(uuid.uuid4(), SessionKind.BROWSER, ClientInfo(), NOW)
    later = NOW + policy.touch_interval
    renewed = policy.renewal(session, later)
    assert renewed is not None
    assert renewed.last_seen_at == later
    assert renewed.expires_at == later + policy.browser.idle
    assert renewed.id == session.id
    assert renewed.absolute_expires_at == session.absolute_expires_at


def test_renewal_is_due_after_a_quarter_of_a_short_idle_window() -> None:
    policy = SessionPolicy(
        browser=SessionLifetime(idle=timedelta(minutes=2), absolute=timedelta(hours=1)),
        touch_interval=timedelta(minutes=10),
    )
    session = policy.start(uuid.uuid4(), SessionKind.BROWSER, ClientInfo(), NOW)
    assert policy.renewal(session, NOW + timedelta(seconds=29)) is None
    assert policy.renewal(session, NOW + timedelta(seconds=30)) is not None


@pytest.mark.parametrize("factory", [Password, NewPassword])
def test_a_password_with_a_lone_surrogate_is_refused_as_invalid(factory: type[Password]) -> None:
    with pytest.raises(InvalidValue, match="valid Unicode"):
        factory("abcdefgh\ud800")


@pytest.mark.parametrize(
    "raw", ["ada\x00@example.com", "ada@example.com\u200b", "ada\ud800@example.com"]
)
def test_an_email_with_invisible_or_invalid_characters_is_refused(raw: str) -> None:
    with pytest.raises(InvalidValue):
        Email(raw)


def test_a_name_with_a_lone_surrogate_is_refused() -> None:
    with pytest.raises(InvalidValue):
        Name("Ada \ud800")


def test_a_user_agent_with_undecodable_bytes_or_controls_becomes_storable_text() -> None:
    client = ClientInfo("Mozilla \udcff\udcfe bad\x00\n", "127.0.0.1")
    assert client.user_agent == "Mozilla \ufffd\ufffd bad\ufffd\ufffd"
    client.user_agent.encode()


def test_public_session_ids_are_hex_and_never_look_like_command_line_options() -> None:
    ids = {new_session_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert all(len(value) == 16 and int(value, 16) >= 0 for value in ids)  # 64 random bits
