"""An outbox entry's content: an order or a letter as JSON, sealed (adapters/aead.py) under a
key the store never sees (its token is a secret until it is used), bound to the entry's id
(a sealed content moved to another entry does not open)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from coatcheck.adapters.aead import AeadSealer
from coatcheck.domain.letters import Letter, LetterKind, LetterOrder, OrderKind
from coatcheck.domain.model import ClientInfo, Email, Name
from coatcheck.domain.tokens import OneTimeToken


def outbox_key(secret: bytes) -> bytes:
    """A 256-bit key drawn from a secret (OUTBOX_KEY, else the session secret) by HKDF."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"coatcheck outbox v1")
    return hkdf.derive(secret)


class Sealer:
    def __init__(self, key: bytes) -> None:
        self._aead = AeadSealer([key])

    def seal(self, entry_id: uuid.UUID, content: Letter | LetterOrder) -> bytes:
        plain = json.dumps(_encoded(content), separators=(",", ":")).encode()
        return self._aead.seal(plain, entry_id.bytes)

    def open(self, entry_id: uuid.UUID, sealed: bytes) -> Letter | LetterOrder:
        """The content; InvalidValue if it was sealed under another key or for another
        entry."""
        return _decoded(json.loads(self._aead.open(sealed, entry_id.bytes)))

    def __repr__(self) -> str:
        return "Sealer(<key redacted>)"


def _encoded(content: Letter | LetterOrder) -> dict[str, Any]:
    if isinstance(content, LetterOrder):
        return {
            "order": content.kind.value,
            "at": content.at.isoformat(),
            "to": content.to and content.to.value,
            "user": content.user_id and str(content.user_id),
        }
    return {
        "letter": content.kind.value,
        "to": content.to.value,
        "name": content.name and content.name.value,
        "at": content.at.isoformat(),
        "token": content.token and content.token.value,
        "valid_for": content.valid_for and content.valid_for.total_seconds(),
        "new_email": content.new_email and content.new_email.value,
        "client": content.client and [content.client.user_agent, content.client.address],
    }


def _decoded(data: dict[str, Any]) -> Letter | LetterOrder:
    if "order" in data:
        return LetterOrder(
            OrderKind(data["order"]),
            datetime.fromisoformat(data["at"]),
            _optional(Email.stored, data["to"]),
            _optional(uuid.UUID, data["user"]),
        )
    client = data["client"]
    return Letter(
        LetterKind(data["letter"]),
        Email.stored(data["to"]),
        _optional(Name, data["name"]),
        datetime.fromisoformat(data["at"]),
        token=_optional(OneTimeToken, data["token"]),
        valid_for=None if data["valid_for"] is None else timedelta(seconds=data["valid_for"]),
        new_email=_optional(Email.stored, data["new_email"]),
        client=None if client is None else ClientInfo(client[0], client[1]),
    )


def _optional(make: Any, value: Any) -> Any:
    return None if value is None else make(value)
