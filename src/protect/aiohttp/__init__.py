"""coatcheck's sessions protecting the routes of another aiohttp application, asked in
process (`InProcess`: the same use-cases, no network) or over HTTP (`OverHttp`: its
GET /authentication/verify). See docs/protecting-services.md.

`InProcess` is coatcheck's server itself (its container, its stores' drivers): it is loaded
only when named, so that the over-HTTP guard needs nothing of the server's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from coatcheck.entrypoints.http.identity import Identity
from coatcheck.protect.aiohttp.middleware import Verifier, identity, protect, requires_session
from coatcheck.protect.aiohttp.over_http import OverHttp
from coatcheck.protect.verify import Checked, Unavailable

if TYPE_CHECKING:
    from coatcheck.protect.aiohttp.in_process import InProcess

__all__ = [
    "Checked",
    "Identity",
    "InProcess",
    "OverHttp",
    "Unavailable",
    "Verifier",
    "identity",
    "protect",
    "requires_session",
]


def __getattr__(name: str) -> Any:
    if name == "InProcess":
        from coatcheck.protect.aiohttp.in_process import InProcess

        return InProcess
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
