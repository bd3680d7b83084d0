"""Who a request is from, in headers: what GET /authentication/verify answers a reverse proxy
(nginx auth_request, Traefik forwardAuth, Caddy forward_auth) and what
`coatcheck.protect` reads back. One place writes them and reads them.

The email is percent-encoded UTF-8 (RFC 3986): a header carries ASCII only, and an address
may hold any other character. An ASCII address without "%" reads as itself."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

from attrs import frozen

if TYPE_CHECKING:  # the guards read identities without the server's model (email-validator)
    from coatcheck.domain.model import PublicUser, Session

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
