"""Users, sessions and the values they are made of. Values validate themselves once."""

from __future__ import annotations

import enum
import re
import unicodedata
import uuid
from datetime import datetime

import email_validator
from attrs import field, frozen

from coatcheck.domain.errors import InvalidValue

EMAIL_MAX_LENGTH = 254
NAME_MAX_LENGTH = 100
PASSWORD_MIN_CHARS = 8
PASSWORD_MAX_BYTES = 72  # bcrypt's limit: longer is refused, never truncated
USER_AGENT_MAX_LENGTH = 256
_EMAIL_SHAPE = re.compile(r"[^@\s]+@[^@\s.][^@\s]*\.[^@\s]+")


def has_control_characters(value: str) -> bool:
    if value.isprintable():  # the usual case, in C: printable text has no Cc, Cf or Cs
        return False
    return any(unicodedata.category(char) in {"Cc", "Cf", "Cs"} for char in value)


def _utf8_length(value: str) -> int:
    try:
        return len(value.encode())
    except UnicodeEncodeError:  # a lone surrogate: JSON can carry one, UTF-8 cannot
        raise InvalidValue("must be valid Unicode text") from None


_NOT_ONE_MAILBOX = "must be one email address, such as ada@example.com"


def _checked_text(value: str) -> str:
    text = unicodedata.normalize("NFKC", value.strip())
    if len(text) > EMAIL_MAX_LENGTH or has_control_characters(text):
        raise InvalidValue(_NOT_ONE_MAILBOX)
    _utf8_length(text)  # a lone surrogate is no text
    return text


# The special-use domains (RFC 6761) email-validator refuses; .test only where a deployment
# allows it (EmailPolicy), the others always.
SPECIAL_USE_DOMAINS: tuple[str, ...] = tuple(email_validator.SPECIAL_USE_DOMAIN_NAMES)


def _normal_form(value: str, ip_literal: bool = False, test_domain: bool = False) -> str:
    """One addr-spec mailbox (no display name, comment, group, list, angle brackets, quoted
    local part or trailing dot; an IP-literal domain or a .test one only when asked), in one
    form: NFKC, the local part lower-cased, the domain IDNA-encoded (ASCII) and lower-cased.
    The syntax is email-validator's; it looks nothing up (no DNS on the request path). Other
    special-use domains (.localhost, .invalid, .local, .onion, .arpa) never pass."""
    try:
        checked = email_validator.validate_email(
            _checked_text(value),
            check_deliverability=False,
            allow_domain_literal=ip_literal,
            test_environment=test_domain,
        )
    except email_validator.EmailNotValidError:
        raise InvalidValue(_NOT_ONE_MAILBOX) from None  # its message would quote the input
    local = unicodedata.normalize("NFKC", checked.local_part.lower())
    address = f"{local}@{checked.ascii_domain.lower()}"
    if len(address) > EMAIL_MAX_LENGTH:
        raise InvalidValue(_NOT_ONE_MAILBOX)
    return address


def _widest_form(value: str) -> str:
    """The normal form, under the widest EmailPolicy: what a store may hold."""
    return _normal_form(value, ip_literal=True, test_domain=True)


def _legacy_form(value: str) -> str:
    """The form of the releases before: trimmed and lower-cased, of a looser shape."""
    text = value.strip().lower()
    if (
        len(text) > EMAIL_MAX_LENGTH
        or not _EMAIL_SHAPE.fullmatch(text)
        or has_control_characters(text)
    ):
        raise InvalidValue(_NOT_ONE_MAILBOX)
    return text


@frozen(eq=False)
class Email:
    """One mailbox, in its one normal form (`_normal_form`): what uniqueness, log-in, reset,
    throttles and sending all use. Equal to any Email of the same form. `Email(text)` takes
    the strictest EmailPolicy's addresses; a deployment's own is EmailPolicy.email."""

    value: str = field(converter=_normal_form)

    @property
    def is_mailbox(self) -> bool:
        """Whether letters may go to it: one mailbox, in the normal form (and, for a letter
        to go, one the deployment's EmailPolicy admits)."""
        return True

    @property
    def domain(self) -> str:
        return self.value.rpartition("@")[2]

    @property
    def is_ip_literal(self) -> bool:
        """Its domain is an IP address in brackets: `ada@[192.0.2.1]`."""
        return self.domain.startswith("[")

    @property
    def is_test_domain(self) -> bool:
        """Its domain is the special-use `test` or under it (RFC 6761): `ada@example.test`."""
        return self.domain == "test" or self.domain.endswith(".test")

    @property
    def mailbox(self) -> str:
        """The mailbox a letter reaches: the address without a `+tag` in its local part
        (`ada+shop@example.com` is delivered to `ada@example.com` by most providers). The
        address stays an account's as it is; only the limits of letters count by this."""
        local, _, domain = self.value.rpartition("@")
        return f"{local.partition('+')[0] or local}@{domain}"

    @classmethod
    def under(cls, value: str, ip_literal: bool, test_domain: bool) -> Email:
        """`value` in its normal form, allowing an IP-literal or a .test domain as told."""
        return cls.as_written(_normal_form(value, ip_literal, test_domain))

    @classmethod
    def stored(cls, value: str) -> Email:
        """An address as a store holds it. A row written before the rule of one mailbox may
        hold another form: it is kept as it is (a LegacyEmail, that logs in but is never
        sent a letter), never refused, never changed here. An IP-literal or .test domain is
        a form a store may hold (a deployment may allow them): whether a letter may go there
        is the EmailPolicy's to say, when one is sent."""
        try:
            normal = _widest_form(value)
        except InvalidValue:
            return LegacyEmail(value)
        return cls.as_written(value) if normal == value else LegacyEmail(value)

    @classmethod
    def as_written(cls, value: str) -> Email:
        """An address this service wrote itself in a form it reads back often (a session
        record's copy of its user's, read at every request): taken as it is, unchecked, since
        the check costs some 50 µs. Never the address of a letter."""
        email = object.__new__(cls)
        object.__setattr__(email, "value", value)
        return email

    @classmethod
    def for_log_in(cls, value: str) -> Email:
        """What a log-in looks the account up by: the normal form or, for text that is no
        longer one mailbox, the form the releases before stored (so such an old account
        still logs in); InvalidValue if it is not even that."""
        try:
            return cls.as_written(_widest_form(value))
        except InvalidValue:
            return LegacyEmail(_legacy_form(value))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Email):
            return NotImplemented
        return self.value == other.value

    def __hash__(self) -> int:
        return hash(self.value)

    def __str__(self) -> str:
        return self.value


@frozen(eq=False)
class LegacyEmail(Email):
    """An address a release before the rule of one mailbox stored, as stored (`coatcheck
    users problems` lists them): its account logs in with it, and is never sent a letter."""

    value: str = field()

    @property
    def is_mailbox(self) -> bool:
        return False


@frozen
class EmailPolicy:
    """Which addresses a deployment takes, and writes to (EMAIL_ALLOW_IP_LITERAL,
    EMAIL_ALLOW_TEST_DOMAINS): by default neither an IP-literal domain (a letter there makes
    the mail relay connect to any address a client names) nor a `.test` one (RFC 6761: never
    delivered; for development and benchmarks). Other special-use domains never pass."""

    allow_ip_literal: bool = False
    allow_test_domains: bool = False

    def email(self, value: str) -> Email:
        """A new address a client gives (to register, reset, move to): InvalidValue if it is
        not one mailbox this deployment takes."""
        return Email.under(value, self.allow_ip_literal, self.allow_test_domains)

    def admits(self, email: Email) -> bool:
        """Whether a letter may go to `email`: one mailbox, of a domain this deployment takes
        (a row stored under another policy, or before the rule, gets none)."""
        return (
            email.is_mailbox
            and (self.allow_ip_literal or not email.is_ip_literal)
            and (self.allow_test_domains or not email.is_test_domain)
        )


def _normalise_name(value: str) -> str:
    return value.strip()


@frozen
class Name:
    value: str = field(converter=_normalise_name)

    @value.validator
    def _check(self, _attribute: object, value: str) -> None:
        if not value:
            raise InvalidValue("must not be empty")
        if len(value) > NAME_MAX_LENGTH:
            raise InvalidValue(f"must be at most {NAME_MAX_LENGTH} characters")
        if has_control_characters(value):
            raise InvalidValue("must not contain control characters")

    def __str__(self) -> str:
        return self.value


@frozen(repr=False)
class Password:
    """A password as typed, checked and hashed in one Unicode form (NFKC), so that the same
    text typed on another keyboard matches. Never printed; not empty, no control characters
    (bcrypt cycles its key bytes, so NULs would make keys equal), and at most 72 UTF-8 bytes
    once normalised, the most bcrypt reads."""

    typed: str = field(repr=False, eq=False)
    value: str = field(init=False, repr=False)  # what is hashed and checked

    @value.default
    def _normalised(self) -> str:
        return unicodedata.normalize("NFKC", self.typed)  # NIST SP 800-63B 5.1.1.2

    @value.validator
    def _check(self, _attribute: object, value: str) -> None:
        if not value:
            raise InvalidValue("must not be empty")
        if _utf8_length(value) > PASSWORD_MAX_BYTES:
            raise InvalidValue(f"must be at most {PASSWORD_MAX_BYTES} bytes in UTF-8")
        if not value.isprintable() and any(unicodedata.category(c) == "Cc" for c in value):
            raise InvalidValue("must not contain control characters")

    def as_typed(self) -> Password | None:
        """The password as typed, when that differs from its normalised form: what a hash
        made before passwords were normalised was made of."""
        if self.typed == self.value or _utf8_length(self.typed) > PASSWORD_MAX_BYTES:
            return None
        return _AsTyped(self.typed)

    def __repr__(self) -> str:
        return "Password(<redacted>)"

    __str__ = __repr__


@frozen(repr=False)
class _AsTyped(Password):
    """A password in the form it was typed in, checked against hashes made before
    passwords were normalised (only ever made from a valid Password)."""

    value: str = field(init=False, repr=False)

    @value.default
    def _normalised(self) -> str:
        return self.typed


@frozen(repr=False)
class NewPassword(Password):
    """A password being chosen: the length policy applies on top of bcrypt's limit."""

    def __attrs_post_init__(self) -> None:
        if len(self.value) < PASSWORD_MIN_CHARS:
            raise InvalidValue(f"must be at least {PASSWORD_MIN_CHARS} characters")


def to_the_second(moment: datetime) -> datetime:
    """Users' and sessions' times are kept to the second: what a store can hold compactly."""
    return moment.replace(microsecond=0)


@frozen(cache_hash=True)  # a key of the HTTP layer's serialised bodies
class PublicUser:
    """What the user's own sessions may show of them (and carry, so that answering "who am
    I" needs no user store): never the password hash."""

    id: uuid.UUID
    email: Email
    name: Name
    created_at: datetime = field(converter=to_the_second)
    email_verified: bool = False


@frozen
class User:
    id: uuid.UUID
    email: Email
    name: Name
    password_hash: str = field(repr=False)
    created_at: datetime
    email_verified: bool = False  # a link sent to the address was followed

    @property
    def public(self) -> PublicUser:
        return PublicUser(self.id, self.email, self.name, self.created_at, self.email_verified)


class SessionKind(enum.Enum):
    BROWSER = "browser"  # cookie that dies with the browser
    REMEMBERED = "remembered"  # persistent cookie
    TOKEN = "token"  # noqa: S105 -- bearer token for non-browser clients

    @property
    def persistent(self) -> bool:
        return self is not SessionKind.BROWSER


class AuthMethod(enum.IntFlag):
    """How a session was authenticated: a bitmask, so that a session record keeps it in a
    byte. A passkey with user verification is both factors on its own."""

    PASSWORD = 1
    TOTP = 2
    RECOVERY_CODE = 4
    PASSKEY = 8

    @property
    def names(self) -> tuple[str, ...]:
        return _METHOD_NAMES[self.value]


def _method_names(value: int) -> tuple[str, ...]:
    names = {AuthMethod.PASSWORD: "password", AuthMethod.TOTP: "totp"}
    names |= {AuthMethod.RECOVERY_CODE: "recovery-code", AuthMethod.PASSKEY: "passkey"}
    return tuple(name for method, name in names.items() if value & method)


_METHOD_NAMES = {value: _method_names(value) for value in range(16)}


def _clip_user_agent(value: str) -> str:
    """Printable and storable whatever a client sent: undecodable bytes (which arrive as
    lone surrogates) and control characters become U+FFFD."""
    if has_control_characters(value):
        value = "".join("\ufffd" if has_control_characters(char) else char for char in value)
    return value[:USER_AGENT_MAX_LENGTH]


@frozen
class ClientInfo:
    """Where a request came from, kept on the session for its owner to recognise."""

    user_agent: str = field(default="", converter=_clip_user_agent)
    address: str = ""


@frozen
class Session:
    id: str
    user_id: uuid.UUID
    kind: SessionKind
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime  # the earlier of the idle and the absolute deadline
    absolute_expires_at: datetime
    client: ClientInfo = ClientInfo()
    user: PublicUser | None = None  # None in records written before sessions carried it
    methods: AuthMethod = AuthMethod.PASSWORD  # how it was authenticated
    authenticated_at: datetime | None = None  # its last re-authentication; None: at creation

    @property
    def last_authenticated_at(self) -> datetime:
        return self.authenticated_at or self.created_at

    def is_live(self, now: datetime) -> bool:
        return now < self.expires_at
