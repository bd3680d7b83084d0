"""coatcheck's sessions protecting the routes of another aiohttp application, asked in
process (`InProcess`: the same use-cases, no network) or over HTTP (`OverHttp`: its
GET /authentication/verify). See docs/protecting-services.md."""

from coatcheck.entrypoints.http.identity import Identity
from coatcheck.entrypoints.protect.guard import (
    Checked,
    Unavailable,
    Verifier,
    identity,
    protect,
    requires_session,
)
from coatcheck.entrypoints.protect.in_process import InProcess
from coatcheck.entrypoints.protect.over_http import OverHttp

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
