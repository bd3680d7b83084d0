"""Start-up configuration: every bad variable named at once, no value ever printed."""

from __future__ import annotations

import base64
import os
from datetime import timedelta

import pytest

from coatcheck.entrypoints.settings import ConfigError, decode_factor_keys, load_settings

SECRET = "s3cr3t-" + "x" * 40
SHORT_SECRET = "short-secret-value"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "REDIS_URL", "SESSION_SECRET", "BCRYPT_ROUNDS"):
        monkeypatch.delenv(name, raising=False)


def test_defaults_need_no_variable_at_all() -> None:
    settings = load_settings()
    assert (settings.users_store, settings.sessions_store) == ("sqlite", "sqlite")
    assert settings.cookie_secure is True
    assert settings.cookie_samesite == "Lax"
    assert settings.bcrypt_rounds == 12


def test_every_bad_variable_is_named_in_one_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BCRYPT_ROUNDS", "lots")
    monkeypatch.setenv("SESSION_SECRET", SHORT_SECRET)
    monkeypatch.setenv("REDIS_URL", "http://user:hunter2@example.com")
    monkeypatch.setenv("ALLOWED_ORIGINS", "https://ok.example, ftp://bad.example")
    with pytest.raises(ConfigError) as raised:
        load_settings()
    message = str(raised.value)
    for name in ("BCRYPT_ROUNDS", "SESSION_SECRET", "REDIS_URL", "ALLOWED_ORIGINS"):
        assert name in message
    for value in ("lots", SHORT_SECRET, "hunter2", "ftp://bad.example"):
        assert value not in message


def test_session_secret_is_required_with_shared_stores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://coatcheck:pw@db/coatcheck")
    with pytest.raises(ConfigError, match="SESSION_SECRET is required"):
        load_settings()
    monkeypatch.setenv("SESSION_SECRET", SECRET)
    assert load_settings().users_store == "postgres"


def test_secrets_and_urls_never_show_in_the_settings_repr(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SESSION_SECRET", SECRET)
    monkeypatch.setenv("DATABASE_URL", "postgresql://coatcheck:hunter2@db/coatcheck")
    text = repr(load_settings()) + str(load_settings())
    assert SECRET not in text
    assert "hunter2" not in text


def test_comma_separated_lists_are_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ALLOWED_ORIGINS", "https://App.example, http://localhost:3000")
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.0/8,192.168.1.1")
    settings = load_settings()
    assert settings.allowed_origins == ["https://app.example", "http://localhost:3000"]
    assert settings.trusted_proxies == ["10.0.0.0/8", "192.168.1.1"]


def test_host_prefix_needs_a_secure_cookie() -> None:
    with pytest.raises(ConfigError, match="COOKIE_HOST_PREFIX"):
        load_settings(cookie_host_prefix=True, cookie_secure=False)
    assert load_settings(cookie_host_prefix=True).cookie_full_name == "__Host-coatcheck"


def test_absolute_timeout_may_not_be_shorter_than_the_idle_one() -> None:
    with pytest.raises(ConfigError, match="SESSION_ABSOLUTE_TIMEOUT"):
        load_settings(session_idle_timeout=600, session_absolute_timeout=60)


def test_timeouts_become_the_session_policy() -> None:
    policy = load_settings(
        session_idle_timeout=60, session_absolute_timeout=120, single_session=True
    ).session_policy()
    assert policy.browser.idle == timedelta(seconds=60)
    assert policy.browser.absolute == timedelta(seconds=120)
    assert policy.single_session is True


def test_the_embedded_default_prints_email_and_shared_stores_send_none_unless_told() -> None:
    assert load_settings().email_delivery == "console"
    shared = {"redis_url": "redis://127.0.0.1:6379/0", "session_secret": SECRET}
    assert load_settings(**shared).email_delivery == "none"
    assert load_settings(**shared, email_backend="console").email_delivery == "console"
    assert load_settings(email_backend="none").email_delivery == "none"


def test_smtp_needs_a_host_a_sender_and_a_public_base_url_and_never_prints_the_password() -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(email_backend="smtp", smtp_password="hunter2")
    message = str(raised.value)
    assert "SMTP_HOST, EMAIL_FROM, PUBLIC_BASE_URL" in message
    assert "hunter2" not in message
    settings = load_settings(
        email_backend="smtp",
        smtp_host="smtp.example.com",
        email_from="Example <no-reply@example.com>",
        public_base_url="https://auth.example.com/",
    )
    assert (settings.smtp_port, settings.smtp_tls) == (587, "starttls")
    assert settings.base_url == "https://auth.example.com"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("public_base_url", "ftp://example.com"),
        ("public_base_url", "https://example.com/?next=x"),
        ("public_base_url", "https://user@example.com"),
        ("email_from", "no address here"),
        ("smtp_tls", "sometimes"),
        ("email_backend", "carrier-pigeon"),
    ],
)
def test_bad_email_settings_are_named(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(**{name: value})
    assert name.upper() in str(raised.value)


def test_token_lifetimes_and_email_throttle_come_from_the_settings() -> None:
    settings = load_settings(
        password_reset_ttl=600, email_throttle_recipient_limit=2, email_throttle_window=60
    )
    assert settings.token_lifetimes().password_reset == timedelta(minutes=10)
    assert settings.token_lifetimes().verify_email == timedelta(days=1)
    policy = settings.mail_throttle_policy()
    assert (policy.recipient_limit, policy.client_limit, policy.window) == (
        2,
        20,
        timedelta(minutes=1),
    )


def test_an_accounts_window_must_outlast_its_longest_lock_out() -> None:
    # Else an account's failures would be forgotten while it is locked, and growth lost.
    with pytest.raises(ConfigError, match="THROTTLE_ACCOUNT_WINDOW"):
        load_settings(throttle_account_window=3600, throttle_max_delay=3600)


def test_throttle_settings_become_the_throttle_policy() -> None:
    policy = load_settings(
        throttle_account_window=7200,
        throttle_max_delay=600,
        throttle_ipv6_prefix=56,
        throttle_device_lifetime=86400,
    ).throttle_policy()
    assert policy.account.window == timedelta(hours=2)
    assert policy.account.sliding is True
    assert policy.account.max_delay == policy.address.max_delay == timedelta(minutes=10)
    assert policy.ipv6_prefix == 56
    assert policy.device_lifetime == timedelta(days=1)


def test_a_secure_cookie_is_named_with_the_host_prefix_by_default() -> None:
    assert load_settings().cookie_full_name == "__Host-coatcheck"
    assert load_settings().cookie_legacy_name == "coatcheck"  # still read, from 0.1's days


def test_a_cookie_for_plain_http_has_no_prefix_and_no_other_name() -> None:
    settings = load_settings(cookie_secure=False)
    assert settings.cookie_full_name == "coatcheck"
    assert settings.cookie_legacy_name is None


def test_the_host_prefix_can_be_turned_off() -> None:
    settings = load_settings(cookie_host_prefix=False)
    assert settings.cookie_full_name == "coatcheck"
    assert settings.cookie_legacy_name is None


def test_outbox_settings_become_its_policy() -> None:
    policy = load_settings(
        outbox_retry_for=7200, outbox_first_retry_delay=0.5, outbox_lease=30, outbox_sends=3
    ).outbox_policy()
    assert (policy.retry_for, policy.first_delay, policy.lease, policy.sends) == (
        timedelta(hours=2),
        timedelta(seconds=0.5),
        timedelta(seconds=30),
        3,
    )
    assert policy.max_delay == timedelta(minutes=5)


def test_a_lease_must_outlast_one_send() -> None:
    with pytest.raises(ConfigError, match="OUTBOX_LEASE"):
        load_settings(outbox_lease=10, smtp_timeout=10)


def test_every_link_must_outlive_the_spacing_of_letters_to_one_address() -> None:
    # Else the owner's last link could be dead while a new one is held back.
    with pytest.raises(ConfigError, match="PASSWORD_RESET_TTL"):
        load_settings(password_reset_ttl=600, email_throttle_recipient_limit=6)
    load_settings(password_reset_ttl=601, email_throttle_recipient_limit=6)


def test_the_outbox_key_never_shows_in_the_settings_repr() -> None:
    assert "k" * 40 not in repr(load_settings(outbox_key="k" * 40))


def test_factor_keys_are_32_byte_base64_keys_newest_first() -> None:
    newest, older = os.urandom(32), os.urandom(32)
    text = f"{base64.b64encode(newest).decode()}, {base64.urlsafe_b64encode(older).decode()}"

    settings = load_settings(factor_keys=text)

    assert settings.factor_keys is not None
    assert decode_factor_keys(settings.factor_keys.get_secret_value()) == [newest, older]


def test_a_factor_key_of_another_length_stops_start_up_without_its_value() -> None:
    short = base64.b64encode(b"x" * 16).decode()

    with pytest.raises(ConfigError) as refused:
        load_settings(factor_keys=short)

    assert "FACTOR_KEYS" in str(refused.value)
    assert short not in str(refused.value)


def test_the_relying_party_is_the_public_host_or_a_parent_domain_of_it() -> None:
    own = load_settings(public_base_url="https://auth.example.com:8443/base")
    parent = load_settings(public_base_url="https://auth.example.com", webauthn_rp_id="example.com")

    assert (own.webauthn_relying_party, own.webauthn_origin) == (
        "auth.example.com",
        "https://auth.example.com:8443",
    )
    assert parent.webauthn_relying_party == "example.com"
    with pytest.raises(ConfigError, match="WEBAUTHN_RP_ID"):
        load_settings(public_base_url="https://auth.example.com", webauthn_rp_id="other.com")


def test_a_variable_of_two_kinds_is_named_once_as_the_variable_not_by_its_kinds() -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(metrics_port="abc")  # a port number, or "api"
    message = str(raised.value)
    assert message.startswith("invalid configuration: METRICS_PORT: ")
    assert message.count("METRICS_PORT") == 1
    assert "CONSTRAINED" not in message
    assert "LITERAL" not in message
    assert "'api'" in message  # what else it may be
