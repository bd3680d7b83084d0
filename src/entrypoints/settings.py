"""Configuration from environment variables, checked all at once at start-up."""

from __future__ import annotations

import base64
import ipaddress
from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from coatcheck.adapters.deadline import StoreTimeouts
from coatcheck.adapters.email.outbox import OutboxPolicy
from coatcheck.domain.mail_throttle import MailThrottlePolicy
from coatcheck.domain.model import EmailPolicy
from coatcheck.domain.sessions import SessionLifetime, SessionPolicy
from coatcheck.domain.throttle import ThrottlePolicy
from coatcheck.domain.token_issuer import TokenLifetimes

Seconds = Annotated[int, Field(gt=0)]
Deadline = Annotated[float, Field(ge=0.05, le=60)]
CommaList = Annotated[list[str], NoDecode]
MIN_SECRET_BYTES = 32
FACTOR_KEY_BYTES = 32
DEVELOPMENT_BASE_URL = "http://localhost:8000"  # where `coatcheck serve` listens by default
DEVELOPMENT_SENDER = "coatcheck <coatcheck@localhost>"
EmailDelivery = Literal["smtp", "console", "none"]


class ConfigError(Exception):
    """Start-up configuration is invalid; the message names every bad variable, no value."""


METRICS_PORT = 9181  # the default port of /metrics (not a port Prometheus' exporters take)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)

    session_secret: SecretStr | None = None
    database_url: SecretStr | None = None
    redis_url: SecretStr | None = None
    redis_cluster: bool = False
    ready_every_primary: bool = False
    redis_prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")] = "coatcheck:"
    session_encoding: Literal["compact", "json"] = "compact"
    data_dir: Path = Path("data")

    bcrypt_rounds: Annotated[int, Field(ge=4, le=20)] = 12
    bcrypt_threads: Annotated[int, Field(ge=1, le=64)] = 4

    session_idle_timeout: Seconds = 30 * 60
    session_absolute_timeout: Seconds = 12 * 60 * 60
    remember_idle_timeout: Seconds = 30 * 24 * 60 * 60
    remember_absolute_timeout: Seconds = 90 * 24 * 60 * 60
    session_touch_interval: Seconds = 60
    single_session: bool = False

    cookie_name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")] = "coatcheck"
    cookie_secure: bool = True
    cookie_samesite: Literal["Lax", "Strict", "None"] = "Lax"
    cookie_host_prefix: bool | None = None  # None: whenever the cookie is Secure
    allowed_origins: CommaList = []
    trusted_proxies: CommaList = []

    login_throttle: bool = True
    throttle_account_limit: Annotated[int, Field(ge=1)] = 5
    throttle_address_limit: Annotated[int, Field(ge=1)] = 50
    throttle_window: Seconds = 15 * 60
    throttle_account_window: Seconds = 24 * 60 * 60
    throttle_base_delay: Seconds = 1
    throttle_max_delay: Seconds = 60 * 60
    throttle_ipv6_prefix: Annotated[int, Field(ge=32, le=128)] = 64
    throttle_device_lifetime: Seconds = 90 * 24 * 60 * 60
    register_throttle: bool = True
    register_throttle_limit: Annotated[int, Field(ge=1)] = 10
    register_throttle_window: Seconds = 60 * 60

    email_backend: EmailDelivery | None = None
    smtp_host: str | None = None
    smtp_port: Annotated[int, Field(ge=1, le=65535)] = 587
    smtp_tls: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout: Seconds = 10
    email_from: str | None = None
    public_base_url: str | None = None
    password_reset_ttl: Seconds = 30 * 60
    email_verification_ttl: Seconds = 24 * 60 * 60
    email_change_ttl: Seconds = 60 * 60
    require_verified_email: bool = False
    # Addresses with an IP-literal domain (ada@[192.0.2.1]) or a .test one: off in production.
    email_allow_ip_literal: bool = False
    email_allow_test_domains: bool = False
    email_throttle_recipient_limit: Annotated[int, Field(ge=1)] = 5
    email_throttle_client_limit: Annotated[int, Field(ge=1)] = 20
    email_throttle_window: Seconds = 60 * 60
    email_templates: Path | None = None  # a folder whose files replace the packaged letters
    product_name: Annotated[str, Field(min_length=1, max_length=100)] = "coatcheck"
    support_contact: str | None = None  # who users write to (letters); else EMAIL_FROM
    # The outbox (letters stored, then sent by a worker in each process).
    outbox_key: SecretStr | None = None
    outbox_retry_for: Seconds = 24 * 60 * 60
    outbox_first_retry_delay: Annotated[float, Field(gt=0, le=3600)] = 2.0
    outbox_max_retry_delay: Seconds = 5 * 60
    outbox_lease: Seconds = 2 * 60
    outbox_retention: Seconds = 7 * 24 * 60 * 60
    outbox_sends: Annotated[int, Field(ge=1, le=100)] = 8
    outbox_poll_interval: Annotated[float, Field(ge=0.05, le=60)] = 1.0

    # Second factors (issue 21): data keys of the authenticator app's secrets, base64 (32
    # bytes each), comma-separated, newest first; the embedded default makes one.
    factor_keys: SecretStr | None = None
    reauth_window: Seconds = 10 * 60
    webauthn_rp_id: str | None = None  # PUBLIC_BASE_URL's host, or a parent domain of it

    log_format: Literal["json", "text"] = "json"
    account_page: bool = True

    request_deadline: Deadline = 1.0
    hashing_deadline: Deadline = 5.0
    ready_timeout: Deadline = 0.5
    shutdown_grace: Annotated[float, Field(gt=0, le=3600)] = 10.0
    request_head_timeout: Annotated[float, Field(ge=0.1, le=3600)] = 10.0
    request_head_limit: Annotated[int, Field(ge=1)] = 2048
    metrics: bool = True
    # A listener of their own, on loopback, unless the operator opts in to the API's port
    # ("api"): the API's clients must not read them (issue 18).
    metrics_port: Annotated[int, Field(ge=1, le=65535)] | Literal["api"] = METRICS_PORT
    metrics_host: str = "127.0.0.1"

    max_body_bytes: Annotated[int, Field(ge=1024, le=1024 * 1024)] = 16 * 1024

    # Open events sockets (GET /authentication/events), per session, per user and per client
    # network (counted in each process) and per process; over one, the handshake is refused
    # (429).
    websockets_per_session: Annotated[int, Field(ge=1)] = 8
    websockets_per_user: Annotated[int, Field(ge=1)] = 32
    websockets_per_process: Annotated[int, Field(ge=1)] = 10_000
    websockets_per_network: Annotated[int, Field(ge=1)] = 1_000

    @field_validator("allowed_origins", "trusted_proxies", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("allowed_origins")
    @classmethod
    def _check_origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            scheme, _, host = origin.partition("://")
            if scheme not in {"http", "https"} or not host or "/" in host:
                raise ValueError("each origin must look like https://host[:port]")
        return [origin.lower() for origin in value]

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: list[str]) -> list[str]:
        for network in value:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError("each entry must be an IP address or network") from None
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(
            ("postgres://", "postgresql://")
        ):
            raise ValueError("must be a postgres:// or postgresql:// URL")
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(
            ("redis://", "rediss://", "unix://")
        ):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value

    @field_validator("public_base_url")
    @classmethod
    def _check_base_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        scheme, _, rest = value.partition("://")
        if scheme not in {"http", "https"} or not rest or rest[0] == "/" or set("?#@") & set(rest):
            raise ValueError("must look like https://host[:port][/path]")
        return value.rstrip("/")

    @field_validator("email_from")
    @classmethod
    def _check_sender(cls, value: str | None) -> str | None:
        if value is not None and "@" not in parseaddr(value)[1]:
            raise ValueError("must be an address, or a name and an address: Name <a@b.example>")
        return value

    @field_validator("session_secret")
    @classmethod
    def _check_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"must be at least {MIN_SECRET_BYTES} bytes")
        return value

    @field_validator("factor_keys")
    @classmethod
    def _check_factor_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            decode_factor_keys(value.get_secret_value())
        return value

    @model_validator(mode="after")
    def _secret_required_with_shared_stores(self) -> Settings:
        if self.session_secret is None and (self.database_url or self.redis_url):
            raise ValueError("SESSION_SECRET is required when DATABASE_URL or REDIS_URL is set")
        if self.cookie_host_prefix and not self.cookie_secure:
            raise ValueError("COOKIE_HOST_PREFIX needs COOKIE_SECURE=true")
        if self.session_absolute_timeout < self.session_idle_timeout:
            raise ValueError("SESSION_ABSOLUTE_TIMEOUT must not be below SESSION_IDLE_TIMEOUT")
        if self.remember_absolute_timeout < self.remember_idle_timeout:
            raise ValueError("REMEMBER_ABSOLUTE_TIMEOUT must not be below REMEMBER_IDLE_TIMEOUT")
        if self.email_backend == "smtp":
            missing = [
                name
                for name, value in (
                    ("SMTP_HOST", self.smtp_host),
                    ("EMAIL_FROM", self.email_from),
                    ("PUBLIC_BASE_URL", self.public_base_url),
                )
                if not value
            ]
            if missing:
                raise ValueError(f"EMAIL_BACKEND=smtp needs {', '.join(missing)}")
        if self.outbox_lease <= self.smtp_timeout:
            raise ValueError("OUTBOX_LEASE must be longer than SMTP_TIMEOUT")
        spacing = self.email_throttle_window / self.email_throttle_recipient_limit
        if min(self.password_reset_ttl, self.email_verification_ttl, self.email_change_ttl) <= (
            spacing
        ):
            # Else a link sent last could be dead while the next one is held back.
            raise ValueError(
                "every link's lifetime (PASSWORD_RESET_TTL, EMAIL_VERIFICATION_TTL,"
                " EMAIL_CHANGE_TTL) must be longer than EMAIL_THROTTLE_WINDOW"
                " / EMAIL_THROTTLE_RECIPIENT_LIMIT"
            )
        if self.webauthn_rp_id is not None and not _is_parent_or_self(
            self.webauthn_rp_id, self.webauthn_origin_host
        ):
            raise ValueError("WEBAUTHN_RP_ID must be PUBLIC_BASE_URL's host or a parent domain")
        if self.hashing_deadline < self.request_deadline:
            raise ValueError("HASHING_DEADLINE must not be below REQUEST_DEADLINE")
        if self.throttle_account_window <= self.throttle_max_delay:
            # Else an account's failures would be forgotten while it is locked.
            raise ValueError("THROTTLE_ACCOUNT_WINDOW must be longer than THROTTLE_MAX_DELAY")
        if self.throttle_max_delay < self.throttle_base_delay:
            raise ValueError("THROTTLE_MAX_DELAY must not be below THROTTLE_BASE_DELAY")
        return self

    @property
    def shared_stores(self) -> bool:
        return self.database_url is not None or self.redis_url is not None

    @property
    def email_delivery(self) -> EmailDelivery:
        """EMAIL_BACKEND, else the console for the embedded default and none otherwise: with
        shared stores, links are printed only when asked for explicitly."""
        if self.email_backend is not None:
            return self.email_backend
        return "none" if self.shared_stores else "console"

    @property
    def base_url(self) -> str:
        return self.public_base_url or DEVELOPMENT_BASE_URL

    @property
    def sender_address(self) -> str:
        return self.email_from or DEVELOPMENT_SENDER

    @property
    def users_store(self) -> Literal["postgres", "sqlite"]:
        return "sqlite" if self.database_url is None else "postgres"

    @property
    def sessions_store(self) -> Literal["redis", "sqlite"]:
        return "sqlite" if self.redis_url is None else "redis"

    @property
    def sessions_readiness(self) -> Literal["cluster", "store"]:
        """How readiness asks the sessions' store: a cluster primary by primary."""
        return "cluster" if self.redis_cluster and self.redis_url is not None else "store"

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "coatcheck.sqlite3"

    @property
    def _host_prefixed(self) -> bool:
        # __Host-: a sibling subdomain cannot plant a cookie of that name (it needs Secure).
        return self.cookie_secure if self.cookie_host_prefix is None else self.cookie_host_prefix

    @property
    def cookie_full_name(self) -> str:
        return ("__Host-" if self._host_prefixed else "") + self.cookie_name

    @property
    def cookie_legacy_name(self) -> str | None:
        """The name the cookie had before it took the __Host- prefix, still read (for
        sessions made before the prefix was first deployed: http/tickets.py's LegacyCutoff) so
        that an upgrade logs no one out."""
        return self.cookie_name if self._host_prefixed else None

    def store_timeouts(self) -> StoreTimeouts:
        """Every store wait fits in the deadline of a request that hashes no password."""
        return StoreTimeouts.within(self.request_deadline)

    def session_policy(self) -> SessionPolicy:
        return SessionPolicy(
            browser=SessionLifetime(
                timedelta(seconds=self.session_idle_timeout),
                timedelta(seconds=self.session_absolute_timeout),
            ),
            persistent=SessionLifetime(
                timedelta(seconds=self.remember_idle_timeout),
                timedelta(seconds=self.remember_absolute_timeout),
            ),
            touch_interval=timedelta(seconds=self.session_touch_interval),
            single_session=self.single_session,
        )

    def throttle_policy(self) -> ThrottlePolicy:
        return ThrottlePolicy(
            enabled=self.login_throttle,
            account_limit=self.throttle_account_limit,
            address_limit=self.throttle_address_limit,
            window=timedelta(seconds=self.throttle_window),
            account_window=timedelta(seconds=self.throttle_account_window),
            base_delay=timedelta(seconds=self.throttle_base_delay),
            max_delay=timedelta(seconds=self.throttle_max_delay),
            ipv6_prefix=self.throttle_ipv6_prefix,
            device_lifetime=timedelta(seconds=self.throttle_device_lifetime),
            register_enabled=self.register_throttle,
            register_limit=self.register_throttle_limit,
            register_window=timedelta(seconds=self.register_throttle_window),
        )

    @property
    def webauthn_origin(self) -> str:
        """Where passkeys are used: PUBLIC_BASE_URL's scheme, host and port."""
        scheme, _, rest = self.base_url.partition("://")
        return f"{scheme}://{rest.partition('/')[0]}".lower()

    @property
    def webauthn_origin_host(self) -> str:
        authority = self.webauthn_origin.partition("://")[2]
        return authority.rpartition(":")[0] if authority.count(":") == 1 else authority

    @property
    def webauthn_relying_party(self) -> str:
        """WEBAUTHN_RP_ID, else PUBLIC_BASE_URL's host (an IP address cannot be one)."""
        return (self.webauthn_rp_id or self.webauthn_origin_host).lower()

    @property
    def reauth_window_delta(self) -> timedelta:
        return timedelta(seconds=self.reauth_window)

    def token_lifetimes(self) -> TokenLifetimes:
        return TokenLifetimes(
            password_reset=timedelta(seconds=self.password_reset_ttl),
            verify_email=timedelta(seconds=self.email_verification_ttl),
            change_email=timedelta(seconds=self.email_change_ttl),
        )

    def email_policy(self) -> EmailPolicy:
        return EmailPolicy(
            allow_ip_literal=self.email_allow_ip_literal,
            allow_test_domains=self.email_allow_test_domains,
        )

    def mail_throttle_policy(self) -> MailThrottlePolicy:
        return MailThrottlePolicy(
            recipient_limit=self.email_throttle_recipient_limit,
            client_limit=self.email_throttle_client_limit,
            window=timedelta(seconds=self.email_throttle_window),
        )

    def outbox_policy(self) -> OutboxPolicy:
        return OutboxPolicy(
            retry_for=timedelta(seconds=self.outbox_retry_for),
            first_delay=timedelta(seconds=self.outbox_first_retry_delay),
            max_delay=timedelta(seconds=self.outbox_max_retry_delay),
            lease=timedelta(seconds=self.outbox_lease),
            retention=timedelta(seconds=self.outbox_retention),
            sends=self.outbox_sends,
            poll_seconds=self.outbox_poll_interval,
            drain_seconds=float(self.smtp_timeout),
        )


def _is_parent_or_self(domain: str, host: str) -> bool:
    domain, host = domain.lower().strip("."), host.lower()
    return host == domain or (host.endswith("." + domain) and "." in domain)


def decode_factor_keys(text: str) -> list[bytes]:
    """FACTOR_KEYS: base64 (standard or URL-safe) keys of 32 bytes, comma-separated."""
    keys = []
    for item in (part.strip() for part in text.split(",")):
        try:
            key = base64.urlsafe_b64decode(item.replace("+", "-").replace("/", "_") + "==")
        except ValueError:
            key = b""
        if len(key) != FACTOR_KEY_BYTES:
            raise ValueError(f"each key must be {FACTOR_KEY_BYTES} bytes in base64")
        keys.append(key)
    return keys


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment (overrides win); ConfigError names every bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        problems: dict[str, list[str]] = {}
        for item in error.errors(include_input=False, include_url=False):
            # The variable, and an item's place in it; not the name pydantic gives each
            # alternative of a union ("METRICS_PORT_CONSTRAINED-INT").
            field, *inside = item["loc"] or ("configuration",)
            places = [str(part) for part in inside if isinstance(part, int)]
            name = "_".join([str(field), *places]).upper()
            problems.setdefault(name, []).append(item["msg"].removeprefix("Value error, "))
        said = (f"{name}: {', or '.join(messages)}" for name, messages in problems.items())
        raise ConfigError("invalid configuration: " + "; ".join(said)) from None
