"""JSON out: each answer's body is a model that both writes the bytes and gives its schema
to the OpenAPI document, so the two cannot disagree. Never a password, hash or ticket but
the one a token answer hands out."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from aiohttp import web
from aiohttp.typedefs import LooseHeaders
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, RootModel, WithJsonSchema
from pydantic.alias_generators import to_camel

from coatcheck.adapters.recent import Recent
from coatcheck.adapters.session_records import KEPT_SECONDS
from coatcheck.domain.factors import FactorSummary, Passkey
from coatcheck.domain.model import PublicUser, SessionKind
from coatcheck.domain.sessions import LoggedIn
from coatcheck.domain.use_cases import SessionView
from coatcheck.entrypoints.presentation import timestamp
from coatcheck.entrypoints.user_agents import describe

JSON = "application/json"
Time = Annotated[
    datetime,
    PlainSerializer(timestamp, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$",
        }
    ),
]
Check = Literal["ok", "unavailable"]


def to_json(body: BaseModel) -> bytes:
    """The one way an answer's JSON is written: the model's own serialiser, straight to bytes."""
    return body.__pydantic_serializer__.to_json(body, by_alias=True)


def json_response(
    body: BaseModel,
    status: int = 200,
    headers: LooseHeaders | None = None,
    content_type: str = JSON,
) -> web.Response:
    return bytes_response(to_json(body), status, headers, content_type)


def bytes_response(
    body: bytes, status: int, headers: LooseHeaders | None, content_type: str = JSON
) -> web.Response:
    return web.Response(
        body=body, status=status, headers=headers, content_type=content_type, charset="utf-8"
    )


class _Out(BaseModel):
    model_config = ConfigDict(
        strict=True,
        frozen=True,
        alias_generator=to_camel,
        validate_by_name=True,
        serialize_by_alias=True,
    )


class UserOut(_Out):
    id: uuid.UUID
    email: str
    name: str
    created_at: Time
    email_verified: bool = Field(description="a link sent to the address was followed")

    @classmethod
    def of(cls, user: PublicUser) -> UserOut:
        return cls(
            id=user.id,
            email=user.email.value,
            name=user.name.value,
            created_at=user.created_at,
            email_verified=user.email_verified,
        )


USERS_KEPT = 4096  # user bodies serialised lately, about 400 B each (see user_body)


def _serialise_user(user: PublicUser) -> bytes:
    return to_json(UserOut.of(user))


# The JSON of a user, serialised once for the same card: a pure function of its fields.
# The session store hands back the same card for a user's next request (see
# adapters/session_records.py), so "who am I" serialises nothing most of the time. Kept a
# minute from when it was made, as the cards are (adapters/recent.py): the bodies of users
# gone do not pile up.
user_body = Recent(_serialise_user, KEPT_SECONDS, USERS_KEPT)


def user_response(user: PublicUser, status: int = 200) -> web.Response:
    return bytes_response(user_body(user), status, None)


class TokenOut(_Out):
    token: str
    expires_at: Time
    user: UserOut

    @classmethod
    def of(cls, logged_in: LoggedIn) -> TokenOut:
        return cls(
            token=logged_in.ticket.value,
            expires_at=logged_in.session.expires_at,
            user=UserOut.of(logged_in.user.public),
        )


class SessionOut(_Out):
    """A session as its owner sees it: a public id, never the ticket."""

    id: str = Field(description="public id; never usable as a ticket")
    kind: SessionKind
    created_at: Time
    last_seen_at: Time
    expires_at: Time
    user_agent: str
    device: str = Field(
        description='browser and system read from the user agent: "Firefox on Linux"'
    )
    ip_address: str
    current: bool
    methods: tuple[str, ...] = Field(
        description='how it was authenticated: "password", "totp", "recovery-code", "passkey"'
    )
    authenticated_at: Time = Field(description="when it was last (re-)authenticated")

    @classmethod
    def of(cls, view: SessionView) -> SessionOut:
        session = view.session
        return cls(
            id=session.id,
            kind=session.kind,
            created_at=session.created_at,
            last_seen_at=session.last_seen_at,
            expires_at=session.expires_at,
            user_agent=session.client.user_agent,
            device=describe(session.client.user_agent),
            ip_address=session.client.address,
            current=view.current,
            methods=session.methods.names,
            authenticated_at=session.last_authenticated_at,
        )


class SessionsOut(RootModel[list[SessionOut]]):
    """Newest first."""

    model_config = ConfigDict(strict=True, frozen=True)

    @classmethod
    def of(cls, views: list[SessionView]) -> SessionsOut:
        return cls([SessionOut.of(view) for view in views])


class SecondFactorOut(_Out):
    """A right password for an account with a second factor: not yet a session. The pending
    cookie it comes with is for POST /authentication/log-in/second-factor only."""

    second_factor_required: Literal[True]
    methods: list[str] = Field(description='what the second step may use: "totp", "passkey"')
    expires_at: Time


class TotpSetupOut(_Out):
    """A new authenticator app, not active until confirmed: the secret is shown once."""

    secret: str = Field(description="base32, to type into an app that cannot scan")
    otpauth_uri: str
    qr_svg: str = Field(description="the otpauth URI as a QR code, an SVG document")


class FactorsOut(_Out):
    totp: bool = Field(description="an authenticator app is active")
    passkeys: int
    recovery_codes: int = Field(description="how many unused recovery codes are left")
    methods: list[str] = Field(description="what a log-in's second step may use")

    @classmethod
    def of(cls, summary: FactorSummary) -> FactorsOut:
        return cls(
            totp=summary.totp,
            passkeys=summary.passkeys,
            recovery_codes=summary.recovery_codes,
            methods=summary.methods,
        )


class PasskeyOptionsOut(RootModel[dict[str, Any]]):
    """WebAuthn options, as PublicKeyCredential.parseCreationOptionsFromJSON() and
    parseRequestOptionsFromJSON() take them (binary values in base64url)."""

    model_config = ConfigDict(strict=True, frozen=True)


class PasskeyOut(_Out):
    id: str = Field(description="the credential id, base64url")
    name: str
    created_at: Time
    last_used_at: Time | None

    @classmethod
    def of(cls, passkey: Passkey) -> PasskeyOut:
        return cls(
            id=base64url(passkey.credential_id),
            name=passkey.name.value,
            created_at=passkey.created_at,
            last_used_at=passkey.last_used_at,
        )


class PasskeysOut(RootModel[list[PasskeyOut]]):
    """Oldest first."""

    model_config = ConfigDict(strict=True, frozen=True)


def base64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class RecoveryCodesOut(_Out):
    recovery_codes: list[str] = Field(description="each works once; shown only now")


class FactorAddedOut(_Out):
    recovery_codes: list[str] | None = Field(
        description="the first factor of an account comes with ten recovery codes; else null"
    )


class Accepted(_Out):
    """A request taken in; whatever it leads to (an email) happens after the answer."""

    detail: str


class FieldError(_Out):
    field: str
    message: str


class Problem(_Out):
    """RFC 9457 problem details; `errors` only when a request was invalid."""

    type: str
    title: str
    status: int
    detail: str
    errors: tuple[FieldError, ...] = Field(default=(), exclude_if=lambda errors: not errors)
    methods: tuple[str, ...] = Field(
        default=(),
        exclude_if=lambda methods: not methods,
        description="second-factor-required: what the second factor may be",
    )


class Liveness(_Out):
    status: Literal["ok"]


class Readiness(_Out):
    status: Check
    checks: dict[str, Check]
    primaries: dict[str, Check] | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description="On a Redis Cluster: each primary (host:port), whether it takes a write",
    )
