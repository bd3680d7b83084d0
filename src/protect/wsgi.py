"""The guard of a WSGI application (Django, Flask, ...): every request, except on the paths
said to be public, is checked with coatcheck's GET /authentication/verify before the
application sees it. See docs/protecting-services.md."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import httpx

from coatcheck.entrypoints.http.identity import Identity
from coatcheck.protect.refusals import NO_STORE, NOT_AUTHENTICATED, UNAVAILABLE, Refusal
from coatcheck.protect.verify import (
    CONNECTIONS,
    TIMEOUT_SECONDS,
    Checked,
    Unavailable,
    is_public,
    verify_url,
)
from coatcheck.protect.wire import checked, client_options, sent_headers

Environ = dict[str, Any]
StartResponse = Callable[..., Callable[[bytes], object]]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]

IDENTITY = "coatcheck.identity"  # its key in the environ: Flask's request.environ, Django's META
_IDENTITY_HEADERS = "HTTP_X_AUTH_"  # X-Auth-* and X_Auth_* alike, as the server merged them


class WsgiGuard:
    """WSGI middleware: `app.wsgi_app = WsgiGuard(app.wsgi_app, "http://127.0.0.1:8000")`
    (Flask), `application = WsgiGuard(get_wsgi_application(), ...)` (Django).

    Every request is checked, unless its PATH_INFO is in `public` ("/": that path only;
    "/static/*": every path that starts with "/static/"): without a live session it is
    answered 401; when the check cannot be made, 503 with Retry-After (each step of the
    check, from waiting for a pooled connection to reading the answer, within `timeout`
    seconds). Otherwise the application gets it with
    `environ["coatcheck.identity"]` set, and the client gets the renewed cookie with the
    answer. On every path, identity headers a client sent are dropped from the environ.
    Thread-safe: one pool of kept-alive connections for the process's threads."""

    def __init__(
        self,
        app: WSGIApp,
        coatcheck_url: str,
        *,
        public: Sequence[str] = (),
        timeout: float = TIMEOUT_SECONDS,
        connections: int = CONNECTIONS,
    ) -> None:
        self.app = app
        self._url = verify_url(coatcheck_url)
        self._public = tuple(public)
        self._http = httpx.Client(**client_options(timeout, connections))

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        for name in [name for name in environ if name.startswith(_IDENTITY_HEADERS)]:
            del environ[name]
        environ.pop(IDENTITY, None)
        if is_public(environ.get("PATH_INFO", ""), self._public):
            return self.app(environ, start_response)
        try:
            found = self._check(environ)
        except Unavailable:
            return _refuse(start_response, UNAVAILABLE, ())
        if found.identity is None:
            return _refuse(start_response, NOT_AUTHENTICATED, found.set_cookies)
        environ[IDENTITY] = found.identity
        return self.app(environ, _with_cookies(start_response, found.set_cookies))

    def _check(self, environ: Environ) -> Checked:
        cookie = environ.get("HTTP_COOKIE")
        headers = sent_headers([cookie] if cookie else [], environ.get("HTTP_AUTHORIZATION"))
        try:
            answer = self._http.get(self._url, headers=headers)
        except httpx.HTTPError as error:
            raise Unavailable() from error
        return checked(answer)

    def close(self) -> None:
        """Close the connections to coatcheck."""
        self._http.close()


def identity(environ: Environ) -> Identity:
    """Who the request is from: on a checked path, the identity the guard found."""
    found = environ.get(IDENTITY)
    if not isinstance(found, Identity):
        raise LookupError("no identity: this path is public, or WsgiGuard is not installed")
    return found


def _refuse(
    start_response: StartResponse, refusal: Refusal, set_cookies: tuple[str, ...]
) -> list[bytes]:
    headers = [*refusal.headers, *(("Set-Cookie", value) for value in set_cookies)]
    headers.append(("Content-Length", str(len(refusal.body))))
    start_response(f"{refusal.status} {refusal.reason}", headers)
    return [refusal.body]


def _with_cookies(start_response: StartResponse, set_cookies: tuple[str, ...]) -> StartResponse:
    """`start_response`, adding these Set-Cookie headers (and no-store) to the answer."""
    if not set_cookies:
        return start_response

    def starting(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
        kept = [pair for pair in headers if pair[0].lower() != NO_STORE[0].lower()]
        added = [("Set-Cookie", value) for value in set_cookies]
        return start_response(status, [*kept, *added, NO_STORE], *exc_info)

    return starting
