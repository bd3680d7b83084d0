"""How a pending step is written in a store: a small JSON object (they live for minutes)."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime

from coatcheck.adapters.timestamps import iso_utc
from coatcheck.domain.factors import PendingPurpose, PendingStep
from coatcheck.domain.model import AuthMethod, SessionKind


def encode_step(step: PendingStep) -> str:
    record = {
        "purpose": step.purpose.value,
        "expires_at": iso_utc(step.expires_at),
        "user_id": None if step.user_id is None else str(step.user_id),
        "kind": step.kind.value,
        "methods": int(step.methods),
        "challenge": None if step.challenge is None else base64.b64encode(step.challenge).decode(),
    }
    return json.dumps(record, separators=(",", ":"))


def decode_step(raw: str | bytes) -> PendingStep:
    record = json.loads(raw)
    user_id, challenge = record["user_id"], record["challenge"]
    return PendingStep(
        purpose=PendingPurpose(record["purpose"]),
        expires_at=datetime.fromisoformat(record["expires_at"]),
        user_id=None if user_id is None else uuid.UUID(user_id),
        kind=SessionKind(record["kind"]),
        methods=AuthMethod(record["methods"]),
        challenge=None if challenge is None else base64.b64decode(challenge),
    )
