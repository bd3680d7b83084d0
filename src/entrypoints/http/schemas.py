"""Request bodies in. Shapes and types are checked here; the domain's values check their
own rules, and every failure is reported per field."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from aiohttp import web
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
)

from coatcheck.domain.errors import InvalidValue
from coatcheck.domain.factors import (
    PASSKEY_NAME_MAX_LENGTH,
    PasskeyName,
    RecoveryCode,
    TotpCode,
)
from coatcheck.domain.model import (
    EMAIL_MAX_LENGTH,
    NAME_MAX_LENGTH,
    PASSWORD_MAX_BYTES,
    PASSWORD_MIN_CHARS,
    SPECIAL_USE_DOMAINS,
    Email,
    EmailPolicy,
    Name,
    NewPassword,
    Password,
)
from coatcheck.domain.second_step import Proof
from coatcheck.domain.tokens import OneTimeToken
from coatcheck.entrypoints.http.keys import services
from coatcheck.entrypoints.http.problems import RequestInvalid
from coatcheck.entrypoints.http.responses import FieldError

_V = TypeVar("_V")
_Body = TypeVar("_Body", bound=BaseModel)


def _domain_value(factory: Callable[[str], _V], schema: dict[str, Any]) -> Any:
    def validate(value: object) -> _V:
        if not isinstance(value, str):
            raise ValueError("must be a string")
        return factory(value)

    return (PlainValidator(validate), WithJsonSchema({"type": "string", **schema}))


# The characters the domain refuses, as regex classes (Unicode 14, Python 3.11's: a test
# holds them to unicodedata). Astral ones are written as themselves: ECMA-262 and Python
# regexes agree on literal code points, not on their escapes. Lone surrogates (Cs), which
# JSON can carry and UTF-8 cannot, are refused too; they are no Unicode text, and a class
# that names them makes generators (hypothesis) ignore the whole pattern.
_CONTROL = ((0x0, 0x1F), (0x7F, 0x9F))  # Cc
_FORMAT = (  # Cf
    (0xAD, 0xAD), (0x600, 0x605), (0x61C, 0x61C), (0x6DD, 0x6DD), (0x70F, 0x70F),
    (0x890, 0x891), (0x8E2, 0x8E2), (0x180E, 0x180E), (0x200B, 0x200F), (0x202A, 0x202E),
    (0x2060, 0x2064), (0x2066, 0x206F), (0xFEFF, 0xFEFF), (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD), (0x110CD, 0x110CD), (0x13430, 0x13438), (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A), (0xE0001, 0xE0001), (0xE0020, 0xE007F),
)  # fmt: skip


def _class(*groups: tuple[tuple[int, int], ...]) -> str:
    def one(code: int) -> str:
        return f"\\u{code:04x}" if code <= 0xFFFF else chr(code)

    return "".join(
        one(low) if low == high else f"{one(low)}-{one(high)}"
        for group in groups
        for low, high in group
    )


_NOT_IN_PASSWORDS = _class(_CONTROL)
_NOT_IN_NAMES = _class(_CONTROL, _FORMAT)
PASSWORD_PATTERN = f"^[^{_NOT_IN_PASSWORDS}]*$"
NAME_PATTERN = f"^[^{_NOT_IN_NAMES}]*[^\\s{_NOT_IN_NAMES}][^{_NOT_IN_NAMES}]*$"  # not blank
# JSON Schema counts characters, bcrypt bytes: the format says the rest.
_BYTES = (
    f"at most {PASSWORD_MAX_BYTES} UTF-8 bytes once in NFKC (so at most {PASSWORD_MAX_BYTES}"
    " characters), no control characters (format `password`: this rule)"
)
_EMAIL_POLICY = "email_policy"  # the deployment's EmailPolicy, in the validation context
_STRICTEST = EmailPolicy()


def _new_email(value: object, info: ValidationInfo) -> Email:
    """An address a client gives, under the deployment's EmailPolicy (the strictest when
    none is in the context)."""
    if not isinstance(value, str):
        raise ValueError("must be a string")
    policy = info.context.get(_EMAIL_POLICY, _STRICTEST) if info.context else _STRICTEST
    return policy.email(value)


# What the document can say, in a regex, of the addresses Email refuses beyond the `email`
# format: a quoted local part, an IP-literal domain and a special-use one (.test and IP
# literals where the deployment's EmailPolicy allows them). Checked against EmailPolicy by
# a test; the document states its deployment's policy (openapi.py).


def _any_case(word: str) -> str:
    return "".join(f"[{letter.upper()}{letter}]" for letter in word)


def new_email_pattern(policy: EmailPolicy) -> str:
    """The `pattern` of a new address under `policy` (beside `format: email`)."""
    allowed = {"test"} if policy.allow_test_domains else set()
    refused = [domain for domain in SPECIAL_USE_DOMAINS if domain not in allowed]
    literal = "" if policy.allow_ip_literal else r"(?!\[)"
    domains = "|".join(map(_any_case, refused))
    return f'^[^"@][^@]*@{literal}(?!(?:[^@]*\\.)?(?:{domains})\\.?$)[^@]+$'


STRICTEST_EMAIL_PATTERN = new_email_pattern(_STRICTEST)
EmailField = Annotated[
    Email,
    PlainValidator(_new_email),
    WithJsonSchema(
        {
            "type": "string",
            "format": "email",
            "maxLength": EMAIL_MAX_LENGTH,
            "pattern": STRICTEST_EMAIL_PATTERN,
            "description": "one mailbox, no quoted local part; no .localhost, .invalid,"
            " .local, .onion or .arpa domain, nor (unless the deployment allows them) an"
            " IP-literal or .test one",
        }
    ),
]
NameField = Annotated[
    Name,
    *_domain_value(
        Name,
        {
            "minLength": 1,
            "maxLength": NAME_MAX_LENGTH,
            "pattern": NAME_PATTERN,
            "description": "not blank; no control or format characters",
        },
    ),
]
# A log-in finds an account whose address an older release stored in a form that is no
# longer one mailbox (Email.for_log_in); everything else takes only the one normal form.
LogInEmailField = Annotated[
    Email, *_domain_value(Email.for_log_in, {"format": "email", "maxLength": EMAIL_MAX_LENGTH})
]
PasswordField = Annotated[
    Password,
    *_domain_value(
        Password,
        {
            "format": "password",
            "minLength": 1,
            "maxLength": PASSWORD_MAX_BYTES,
            "pattern": PASSWORD_PATTERN,
            "description": f"1 character, {_BYTES}",
        },
    ),
]
NewPasswordField = Annotated[
    NewPassword,
    *_domain_value(
        NewPassword,
        {
            "format": "password",
            "minLength": PASSWORD_MIN_CHARS,
            "maxLength": PASSWORD_MAX_BYTES,
            "pattern": PASSWORD_PATTERN,
            "description": f"{PASSWORD_MIN_CHARS} characters, {_BYTES}",
        },
    ),
]


def _token(value: str) -> OneTimeToken:
    token = OneTimeToken.parse(value)
    if token is None:
        raise InvalidValue("must be a token from an emailed link")
    return token


TokenField = Annotated[
    OneTimeToken,
    *_domain_value(
        _token,
        {"pattern": "^[A-Za-z0-9_-]{43}$", "description": "the token of an emailed link"},
    ),
]


class _Model(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, arbitrary_types_allowed=True)


class RegisterBody(_Model):
    email: EmailField
    name: NameField
    password: NewPasswordField


TotpCodeField = Annotated[
    TotpCode,
    *_domain_value(
        TotpCode, {"pattern": "^ *(?:[0-9] *){6}$", "description": "6 digits (spaces ignored)"}
    ),
]
RecoveryCodeField = Annotated[
    RecoveryCode,
    *_domain_value(
        RecoveryCode,
        {
            "maxLength": 40,
            "pattern": "^[ -]*(?:[a-hjkmnp-zA-HJKMNP-Z2-9][ -]*){10}$",
            "description": "as shown: xxxxx-xxxxx (spaces and dashes ignored)",
        },
    ),
]
PasskeyNameField = Annotated[
    PasskeyName,
    *_domain_value(
        PasskeyName,
        {
            "minLength": 1,
            "maxLength": PASSKEY_NAME_MAX_LENGTH,
            "pattern": NAME_PATTERN,
            "description": "not blank; no control or format characters",
        },
    ),
]


Credential = Annotated[
    dict[str, Any],
    Field(description="a PublicKeyCredential as JSON (PublicKeyCredential.toJSON())"),
]


class _SecondFactor(_Model):
    """A second factor: a code of the authenticator app, or a recovery code."""

    code: TotpCodeField | None = None
    recovery_code: RecoveryCodeField | None = Field(default=None, alias="recoveryCode")

    @property
    def proof(self) -> Proof:
        return Proof(self.code, self.recovery_code)


class LogInBody(_SecondFactor):
    """`code` or `recoveryCode`: for an account with a second factor, in one request."""

    email: LogInEmailField
    password: PasswordField
    remember: bool = False


class SecondFactorBody(_SecondFactor):
    """`code`, `recoveryCode`, or `credential`: an assertion of one of the account's
    passkeys (its options from /authentication/log-in/second-factor/options)."""

    credential: Credential | None = None


class ReauthenticateBody(_SecondFactor):
    """The password, for an account without a second factor; else a code, a recovery code
    or a passkey's `credential` (its options from /authentication/reauthenticate/options)."""

    password: PasswordField | None = None
    credential: Credential | None = None


class PasskeyBody(_Model):
    credential: Credential
    name: PasskeyNameField | None = Field(default=None, description='"Passkey" if none')

    @property
    def passkey_name(self) -> PasskeyName:
        return self.name or PasskeyName("Passkey")


class PasskeyRenameBody(_Model):
    name: PasskeyNameField


class PasskeyLogInOptionsBody(_Model):
    remember: bool = False


class PasskeyLogInBody(_Model):
    credential: Credential


class TotpConfirmBody(_Model):
    code: TotpCodeField


class RemoveTotpBody(_Model):
    current_password: PasswordField = Field(alias="currentPassword")
    code: TotpCodeField


class CurrentPasswordBody(_Model):
    current_password: PasswordField = Field(alias="currentPassword")


class ChangePasswordBody(_Model):
    current_password: PasswordField = Field(alias="currentPassword")
    new_password: NewPasswordField = Field(alias="newPassword")


class PasswordResetBody(_Model):
    email: EmailField


class PasswordResetConfirmBody(_Model):
    token: TokenField
    new_password: NewPasswordField = Field(alias="newPassword")


class TokenBody(_Model):
    token: TokenField


class ChangeEmailBody(_Model):
    current_password: PasswordField = Field(alias="currentPassword")
    new_email: EmailField = Field(alias="newEmail")


class DeleteAccountBody(_Model):
    current_password: PasswordField = Field(alias="currentPassword")


def _field(location: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in location) or "body"


class _Repeated(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise _Repeated(key)
        seen.add(key)
    return dict(pairs)


def _repeated_key(raw: bytes) -> str | None:
    """A key given twice in one object: refused, as what a proxy or firewall reads first
    would not be what is used (the last)."""
    try:
        json.loads(raw, object_pairs_hook=_no_repeats)
    except _Repeated as repeated:
        return repeated.key
    except (ValueError, RecursionError):  # not JSON: the model's parser says why
        pass
    return None


async def parse(request: web.Request, model: type[_Body]) -> _Body:
    """The body as `model`; RequestInvalid lists every bad field (never echoing a value)."""
    raw = await request.read()
    repeated = _repeated_key(raw) if raw else None
    if repeated is not None:
        named = {field.alias or name for name, field in model.model_fields.items()}
        field = repeated if repeated in named else "body"  # no stranger's text
        raise RequestInvalid([FieldError(field=field, message="given more than once")])
    context = {_EMAIL_POLICY: services(request).email_policy}
    try:
        return model.model_validate_json(raw or b"{}", context=context)
    except ValidationError as error:
        errors = []
        for item in error.errors(include_input=False, include_url=False):
            # A domain value's own message reads better than pydantic's "Value error, ...".
            cause = item.get("ctx", {}).get("error") if item["type"] == "value_error" else None
            message = str(cause) if cause is not None else item["msg"]
            errors.append(FieldError(field=_field(item["loc"]), message=message))
        raise RequestInvalid(errors) from None
