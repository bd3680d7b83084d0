"""coatcheck's sessions protecting other applications: the one way in for them.

    from coatcheck.protect import AsgiGuard, Caller      # Starlette, FastAPI
    from coatcheck.protect import WsgiGuard              # Django, Flask
    from coatcheck.protect import OverHttp, protect, requires_session   # aiohttp

Each guard asks a running coatcheck's GET /authentication/verify over HTTP and needs only
`pip install coatcheck[guard]`'s dependencies (plus its own framework); `InProcess` is
coatcheck's server itself, in an aiohttp application's process. A name is imported when
it is first used, so that no guard loads another's framework. See
docs/protecting-services.md."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from coatcheck.entrypoints.http.identity import Identity
from coatcheck.protect.verify import Checked, Unavailable

if TYPE_CHECKING:
    from coatcheck.protect.aiohttp import (
        InProcess,
        OverHttp,
        Verifier,
        identity,
        protect,
        requires_session,
    )
    from coatcheck.protect.asgi import AsgiGuard
    from coatcheck.protect.fastapi import Caller, caller
    from coatcheck.protect.wsgi import WsgiGuard

_MODULES = {
    "AsgiGuard": "asgi",
    "Caller": "fastapi",
    "caller": "fastapi",
    "WsgiGuard": "wsgi",
    "InProcess": "aiohttp",
    "OverHttp": "aiohttp",
    "Verifier": "aiohttp",
    "identity": "aiohttp",
    "protect": "aiohttp",
    "requires_session": "aiohttp",
}

__all__ = [
    "AsgiGuard",
    "Caller",
    "Checked",
    "Identity",
    "InProcess",
    "OverHttp",
    "Unavailable",
    "Verifier",
    "WsgiGuard",
    "caller",
    "identity",
    "protect",
    "requires_session",
]


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
