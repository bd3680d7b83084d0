"""FastAPI's way to the caller that AsgiGuard checked: `who: Caller` in a route's
parameters, or `Depends(caller)`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException
from starlette.requests import HTTPConnection

from coatcheck.entrypoints.http.identity import Identity
from coatcheck.protect import asgi


def caller(connection: HTTPConnection) -> Identity:
    """Who the request (or WebSocket) is from; 401 where AsgiGuard found no one: on a path
    it was told is public, or if it is not installed."""
    try:
        return asgi.identity(connection.scope)
    except LookupError:
        raise HTTPException(401, "not authenticated") from None


Caller = Annotated[Identity, Depends(caller)]
