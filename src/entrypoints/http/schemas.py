"""Request bodies in. Shapes and types are checked here; the domain's values check their
own rules, and every failure is reported per field."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, PlainValidator, ValidationError, WithJsonSchema

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
    Email,
    Name,
    NewPassword,
    Password,
)
from coatcheck.domain.second_step import Proof
from coatcheck.domain.tokens import OneTimeToken
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


_BYTES = f"{PASSWORD_MAX_BYTES} UTF-8 bytes in NFKC, no control characters"
EmailField = Annotated[
    Email, *_domain_value(Email, {"format": "email", "maxLength": EMAIL_MAX_LENGTH})
]
NameField = Annotated[Name, *_domain_value(Name, {"minLength": 1, "maxLength": NAME_MAX_LENGTH})]
PasswordField = Annotated[
    Password, *_domain_value(Password, {"minLength": 1, "description": f"1 character to {_BYTES}"})
]
NewPasswordField = Annotated[
    NewPassword,
    *_domain_value(
        NewPassword,
        {
            "minLength": PASSWORD_MIN_CHARS,
            "description": f"{PASSWORD_MIN_CHARS} characters to {_BYTES}",
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
    *_domain_value(TotpCode, {"pattern": "^[0-9 ]{6,12}$", "description": "6 digits"}),
]
RecoveryCodeField = Annotated[
    RecoveryCode,
    *_domain_value(RecoveryCode, {"maxLength": 40, "description": "as shown: xxxxx-xxxxx"}),
]
PasskeyNameField = Annotated[
    PasskeyName,
    *_domain_value(PasskeyName, {"minLength": 1, "maxLength": PASSKEY_NAME_MAX_LENGTH}),
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

    email: EmailField
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


async def parse(request: web.Request, model: type[_Body]) -> _Body:
    """The body as `model`; RequestInvalid lists every bad field (never echoing a value)."""
    raw = await request.read()
    try:
        return model.model_validate_json(raw or b"{}")
    except ValidationError as error:
        errors = []
        for item in error.errors(include_input=False, include_url=False):
            # A domain value's own message reads better than pydantic's "Value error, ...".
            cause = item.get("ctx", {}).get("error") if item["type"] == "value_error" else None
            message = str(cause) if cause is not None else item["msg"]
            errors.append(FieldError(field=_field(item["loc"]), message=message))
        raise RequestInvalid(errors) from None
