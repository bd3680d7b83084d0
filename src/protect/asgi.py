"""The guard of an ASGI application (Starlette, FastAPI, ...): every HTTP request and every
WebSocket handshake, except on the paths said to be public, is checked with coatcheck's
GET /authentication/verify before the application sees it. See docs/protecting-services.md."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

import anyio
import httpx

from coatcheck.entrypoints.http.identity import Identity
from coatcheck.protect.refusals import NO_STORE, NOT_AUTHENTICATED, UNAVAILABLE, Refusal
from coatcheck.protect.verify import (
    CONNECTIONS,
    TIMEOUT_SECONDS,
    Checked,
    Unavailable,
    is_identity_header,
    is_public,
    verify_url,
)
from coatcheck.protect.wire import checked, client_options, sent_headers

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

IDENTITY = "coatcheck_identity"  # its key in scope["state"]: Starlette's request.state
_CACHE_CONTROL = NO_STORE[0].lower().encode()


class AsgiGuard:
    """ASGI middleware: `AsgiGuard(app, "http://127.0.0.1:8000")`, or Starlette's
    `app.add_middleware(AsgiGuard, coatcheck_url=...)`.

    Every `http` and `websocket` scope is checked, unless its path is in `public` ("/": that
    path only; "/static/*": every path that starts with "/static/"): without a live session
    an HTTP request is answered 401, a WebSocket refused before it is accepted; when the
    check cannot be made within `timeout` seconds, 503 with Retry-After. Otherwise the
    application gets the request with `scope["state"]["coatcheck_identity"]`
    (`request.state.coatcheck_identity`) set, and the client gets the renewed cookie with
    the answer. On every path, identity headers a client
    sent (X-Auth-*, X_Auth_*) are dropped. `lifespan` passes through; at its shutdown the
    connections to coatcheck are closed."""

    def __init__(
        self,
        app: ASGIApp,
        coatcheck_url: str,
        *,
        public: Sequence[str] = (),
        timeout: float = TIMEOUT_SECONDS,
        connections: int = CONNECTIONS,
    ) -> None:
        self.app = app
        self._url = verify_url(coatcheck_url)
        self._public = tuple(public)
        self._timeout = timeout
        self._connections = connections
        self._http: httpx.AsyncClient | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            return await self.app(scope, self._closing_at_shutdown(receive), send)
        if kind not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers: Headers = [
            (name, value)
            for name, value in scope["headers"]
            if not is_identity_header(name.decode("latin-1"))
        ]
        state = {**scope.get("state", {})}
        state.pop(IDENTITY, None)
        scope = {**scope, "headers": headers, "state": state}
        if is_public(scope["path"], self._public):
            return await self.app(scope, receive, send)
        try:
            checked = await self._check(headers)
        except Unavailable:
            return await _refuse(scope, receive, send, UNAVAILABLE, ())
        if checked.identity is None:
            return await _refuse(scope, receive, send, NOT_AUTHENTICATED, checked.set_cookies)
        state[IDENTITY] = checked.identity
        await self.app(scope, receive, _with_cookies(send, checked.set_cookies))

    async def _check(self, headers: Headers) -> Checked:
        cookies = [value.decode("latin-1") for name, value in headers if name == b"cookie"]
        authorization = next(
            (value.decode("latin-1") for name, value in headers if name == b"authorization"),
            None,
        )
        try:
            with anyio.fail_after(self._timeout):  # in all: httpx's timeout is per step
                answer = await self._client().get(
                    self._url, headers=sent_headers(cookies, authorization)
                )
        except (httpx.HTTPError, TimeoutError) as error:
            raise Unavailable() from error
        return checked(answer)

    def _client(self) -> httpx.AsyncClient:
        """One pool of kept-alive connections, made in the server's event loop."""
        if self._http is None:
            self._http = httpx.AsyncClient(**client_options(self._timeout, self._connections))
        return self._http

    async def aclose(self) -> None:
        """Close the connections to coatcheck (done at lifespan's shutdown)."""
        if self._http is not None:
            http, self._http = self._http, None
            await http.aclose()

    def _closing_at_shutdown(self, receive: Receive) -> Receive:
        async def receiving() -> Message:
            message = await receive()
            if message["type"] == "lifespan.shutdown":
                await self.aclose()
            return message

        return receiving


def identity(scope: Scope) -> Identity:
    """Who the request is from: on a checked path, the identity the guard found."""
    found = scope.get("state", {}).get(IDENTITY)
    if not isinstance(found, Identity):
        raise LookupError("no identity: this path is public, or AsgiGuard is not installed")
    return found


async def _refuse(
    scope: Scope, receive: Receive, send: Send, refusal: Refusal, set_cookies: tuple[str, ...]
) -> None:
    """The refusal as the answer to a request, or to a WebSocket's handshake (before it is
    accepted: with the server's denial response if it has one, else a close, its 403)."""
    headers = [(name.lower().encode(), value.encode()) for name, value in refusal.headers]
    headers += [(b"set-cookie", value.encode("latin-1")) for value in set_cookies]
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
        await send({"type": "http.response.body", "body": refusal.body})
        return
    connect = await receive()  # the server first tells of the handshake
    if connect["type"] != "websocket.connect":
        return  # the client went away
    if "websocket.http.response" in scope.get("extensions", {}):
        start = {"type": "websocket.http.response.start", "status": refusal.status}
        await send(start | {"headers": headers})
        await send({"type": "websocket.http.response.body", "body": refusal.body})
    else:
        await send({"type": "websocket.close", "code": 1008})


def _with_cookies(send: Send, set_cookies: tuple[str, ...]) -> Send:
    """`send`, adding these Set-Cookie headers (and no-store) to the answer's start or to
    the WebSocket's acceptance."""
    if not set_cookies:
        return send
    added = [(b"set-cookie", value.encode("latin-1")) for value in set_cookies]

    async def sending(message: Message) -> None:
        if message["type"] in ("http.response.start", "websocket.accept"):
            headers = message.get("headers", ())
            kept = [pair for pair in headers if pair[0].lower() != _CACHE_CONTROL]
            message = {**message, "headers": [*kept, *added, (_CACHE_CONTROL, b"no-store")]}
        await send(message)

    return sending
