"""Session events as the shared stores carry them: one small JSON object each.

    {"user": "<uuid>", "ended": ["<id>", ...], "every": false, "kept": null, "reason": "revoked"}
    {"user": "<uuid>", "changed": true}

Anything else on the channel (another release's shape, a stray message) decodes to None
and is dropped by the listener.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from coatcheck.domain.events import EndReason, SessionEvent, SessionsChanged, SessionsEnded


def encode(event: SessionEvent) -> bytes:
    body: dict[str, Any] = {"user": str(event.user_id)}
    if isinstance(event, SessionsChanged):
        body["changed"] = True
    else:
        body |= {
            "ended": list(event.ids),
            "every": event.every,
            "kept": event.kept,
            "reason": event.reason.value,
        }
    return json.dumps(body, separators=(",", ":")).encode()


def decode(raw: bytes | str) -> SessionEvent | None:
    try:
        body = json.loads(raw)
        user_id = uuid.UUID(body["user"])
        if body.get("changed") is True:
            return SessionsChanged(user_id)
        ids = body["ended"]
        kept = body["kept"]
        if not isinstance(ids, list) or not all(isinstance(item, str) for item in ids):
            return None
        if not isinstance(kept, str | None):
            return None
        return SessionsEnded(
            user_id, EndReason(body["reason"]), tuple(ids), bool(body["every"]), kept
        )
    except (ValueError, TypeError, KeyError):  # JSONDecodeError and UnicodeError are ValueErrors
        return None
