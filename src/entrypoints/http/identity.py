"""Who a request is from, in headers: what GET /authentication/verify answers a reverse proxy
(nginx auth_request, Traefik forwardAuth, Caddy forward_auth) and what
`coatcheck.protect` reads back. One place writes them and reads them.

The email is percent-encoded UTF-8 (RFC 3986): a header carries ASCII only, and an address
may hold any other character. An ASCII address without "%" reads as itself."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping
from urllib.parse import quote, unquote

from attrs import frozen

from coatcheck.domain.model import AuthMethod, PublicUser, Session

USER_ID = "X-Auth-User-Id"
EMAIL = "X-Auth-Email"
SESSION_ID = "X-Auth-Session-Id"
EMAIL_VERIFIED = "X-Auth-Email-Verified"
DESCRIPTIONS = (
    (USER_ID, "the user's id (a UUID)"),
    (EMAIL, "the user's email, percent-encoded UTF-8 (an ASCII address reads as itself)"),
    (SESSION_ID, "the session's public id (as GET /authentication/sessions lists it)"),
    (EMAIL_VERIFIED, "`true` once the user has verified their email address, else `false`"),
)
_BOOLEANS = {"true": True, "false": False}
_EMAIL_SAFE = "@.!#$&'*+/=?^_`{|}~-"  # RFC 5322's atext and the separators; never "%"

# How the session was authenticated (issue 21): verify answers it beside the identity.
METHODS = "X-Auth-Methods"
METHODS_DESCRIPTION = (
    METHODS,
    'how the session was authenticated, comma-separated: "password", "totp", "recovery-code",'
    ' "passkey" (a passkey with user verification is both factors)',
)
_METHOD_VALUES = {int(m): ",".join(m.names) for m in map(AuthMethod, range(16))}


def methods_header(session: Session) -> dict[str, str]:
    return {METHODS: _METHOD_VALUES[session.methods]}


USERS_KEPT = 4096  # user cards whose headers were written lately (see _user_values)


@functools.lru_cache(maxsize=USERS_KEPT)
def _user_values(user: PublicUser) -> tuple[str, str, str]:
    """The user's id, email and verified flag as headers carry them: a pure function of the
    card, written once for the same card (the session store hands back the same card for
    a user's next request, as for the user's JSON: see responses.user_body)."""
    headers = Identity(user.id, user.email.value, "", user.email_verified).headers()
    return headers[USER_ID], headers[EMAIL], headers[EMAIL_VERIFIED]


def verify_headers(user: PublicUser, session: Session) -> dict[str, str]:
    """`Identity.of(user, session).headers()` and `methods_header(session)`, in one dict."""
    user_id, email, verified = _user_values(user)
    return {
        USER_ID: user_id,
        EMAIL: email,
        SESSION_ID: session.id,
        EMAIL_VERIFIED: verified,
        METHODS: _METHOD_VALUES[session.methods],
    }


@frozen
class Identity:
    """The user a live session belongs to, that session's public id, and whether the
    user has verified their email address."""

    user_id: uuid.UUID
    email: str
    session_id: str
    email_verified: bool

    @classmethod
    def of(cls, user: PublicUser, session: Session) -> Identity:
        return cls(user.id, user.email.value, session.id, user.email_verified)

    def headers(self) -> dict[str, str]:
        return {
            USER_ID: str(self.user_id),
            EMAIL: quote(self.email, safe=_EMAIL_SAFE),
            SESSION_ID: self.session_id,
            EMAIL_VERIFIED: "true" if self.email_verified else "false",
        }

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> Identity | None:
        """The identity of a verify answer's headers; None unless all of them are sound."""
        try:
            user_id = uuid.UUID(headers[USER_ID])
            email = unquote(headers[EMAIL], errors="strict")
            session_id = headers[SESSION_ID]
            email_verified = _BOOLEANS[headers[EMAIL_VERIFIED]]
        except (KeyError, ValueError):
            return None
        return cls(user_id, email, session_id, email_verified) if email and session_id else None
