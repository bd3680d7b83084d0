"""The verifier of an application that runs beside coatcheck: it asks coatcheck's
GET /authentication/verify over HTTP, on pooled connections and with a short timeout."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import TracebackType

import aiohttp
from aiohttp import web
from yarl import URL

from coatcheck.protect.verify import (
    CONNECTIONS,
    TIMEOUT_SECONDS,
    Checked,
    Unavailable,
    checked_of,
    ticket_headers,
    verify_url,
)


class OverHttp:
    """Asks `base_url`/authentication/verify with the request's Cookie and Authorization
    headers, and only those. 200 gives the identity (and any renewed cookie, passed on to
    the client), 401 none; anything else, a refused connection or no answer within
    `timeout` seconds makes it Unavailable.

    Open it before use (`async with`, or `app.cleanup_ctx.append(verifier.lifetime)`)."""

    def __init__(
        self, base_url: str, *, timeout: float = TIMEOUT_SECONDS, connections: int = CONNECTIONS
    ) -> None:
        self._url = URL(verify_url(base_url))
        self._timeout = timeout
        self._connections = connections
        self._http: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> OverHttp:
        self._http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._connections, keepalive_timeout=30),
            timeout=aiohttp.ClientTimeout(total=self._timeout),
            # Never a jar: one request's renewed cookie must not ride along with the next.
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def lifetime(self, app: web.Application) -> AsyncIterator[None]:
        """For `app.cleanup_ctx`: open while the app runs."""
        async with self:
            yield

    async def __call__(self, request: web.BaseRequest) -> Checked:
        if self._http is None:
            raise RuntimeError("OverHttp is not open: use `async with` or its lifetime")
        try:
            async with self._http.get(
                self._url, headers=_ticket_headers(request), allow_redirects=False
            ) as answer:
                await answer.read()  # the connection goes back to the pool
        except (aiohttp.ClientError, TimeoutError) as error:
            raise Unavailable() from error
        set_cookies = answer.headers.getall("Set-Cookie", ())
        return checked_of(answer.status, answer.headers, set_cookies)


def _ticket_headers(request: web.BaseRequest) -> dict[str, str]:
    return ticket_headers(
        request.headers.getall("Cookie", ()), request.headers.get("Authorization")
    )
