"""What every guard does the same way, with no web framework: which request headers carry a
ticket (and go to coatcheck's GET /authentication/verify), which are identity headers (and
never reach the application), which paths are public, and what an answer of verify means."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from attrs import frozen

from coatcheck.entrypoints.http.identity import Identity

VERIFY_PATH = "/authentication/verify"
TIMEOUT_SECONDS = 1.0
CONNECTIONS = 100
# Lower-cased: the names a client may send identity under. A WSGI server folds both into
# HTTP_X_AUTH_...; an ASGI or aiohttp server keeps each as it came.
_IDENTITY_PREFIXES = ("x-auth-", "x_auth_")


class Unavailable(Exception):
    """The check could not be made: a store is down, coatcheck did not answer, or not in time."""


@frozen
class Checked:
    """What a verifier found: who the request is from (None: no live session), and the
    Set-Cookie values the client must get (a renewal, or the clearing of a dead cookie)."""

    identity: Identity | None
    set_cookies: tuple[str, ...] = ()


def verify_url(base_url: str) -> str:
    """coatcheck's verify endpoint under its base URL (a path prefix is kept)."""
    return base_url.rstrip("/") + VERIFY_PATH


def is_identity_header(name: str) -> bool:
    """A header under an identity's name, in either spelling: never believed, always dropped."""
    return name[:7].lower() in _IDENTITY_PREFIXES


def ticket_headers(cookies: Iterable[str], authorization: str | None) -> dict[str, str]:
    """What may carry a ticket, and nothing else: the cookies (HTTP/2 may split them over
    several headers) and the Authorization header."""
    headers = {}
    joined = "; ".join(cookies)
    if joined:
        headers["Cookie"] = joined
    if authorization is not None:
        headers["Authorization"] = authorization
    return headers


def checked_of(status: int, headers: Mapping[str, str], set_cookies: Sequence[str]) -> Checked:
    """The meaning of verify's answer: 200 with a sound identity, or 401; anything else (a
    503, a redirect, a 200 without every identity header) is Unavailable, never a pass."""
    if status == 401:
        return Checked(None, tuple(set_cookies))
    found = Identity.from_headers(headers) if status == 200 else None
    if found is None:
        raise Unavailable()
    return Checked(found, tuple(set_cookies))


def is_public(path: str, public: Sequence[str]) -> bool:
    """Whether a path is served without a check: it is one of `public`, or starts with what
    precedes the "*" that ends one ("/static/*")."""
    return any(
        path.startswith(item[:-1]) if item.endswith("*") else path == item for item in public
    )
