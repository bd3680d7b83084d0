"""The HTTP client side the ASGI and WSGI guards share (httpx, async or not): how the pool is
made, what is sent to GET /authentication/verify, and what its answer means."""

from __future__ import annotations

from collections.abc import Iterable
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx

from coatcheck.protect.verify import Checked, checked_of, ticket_headers


def client_options(timeout: float, connections: int) -> dict[str, Any]:
    """For httpx.Client or httpx.AsyncClient: a pool of kept-alive connections; `timeout`
    for each step (a free connection, connecting, sending, reading); no redirects; no
    HTTP_PROXY from the environment (the ticket goes to coatcheck and nowhere else); and a
    cookie jar that keeps nothing, so one request's renewed cookie never rides along with
    another's."""
    return {
        "timeout": timeout,
        "limits": httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        "cookies": CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
        "follow_redirects": False,
        "trust_env": False,
    }


def sent_headers(cookies: Iterable[str], authorization: str | None) -> dict[bytes, bytes]:
    """The ticket's headers as the client sent them: header values are bytes on the wire
    (latin-1 strings in WSGI and here), never re-encoded."""
    found = ticket_headers(cookies, authorization)
    return {name.encode(): value.encode("latin-1") for name, value in found.items()}


def checked(answer: httpx.Response) -> Checked:
    return checked_of(answer.status_code, answer.headers, answer.headers.get_list("set-cookie"))
