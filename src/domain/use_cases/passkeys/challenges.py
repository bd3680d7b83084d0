"""WebAuthn challenges: every one random, live five minutes, used once, and bound to what asked
for it: the session (registration, re-authentication) or the pending cookie (log-in)."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta

from coatcheck.domain.factors import PendingPurpose, PendingStep
from coatcheck.domain.model import AuthMethod, SessionKind
from coatcheck.domain.ports import Clock, PendingSteps
from coatcheck.domain.sessions import Authenticated

CHALLENGE_LIFETIME = timedelta(minutes=5)
NO_METHOD = AuthMethod(0)  # a passkey log-in proves nothing before its assertion
CHALLENGE_BYTES = 32


def session_key(purpose: PendingPurpose, caller: Authenticated) -> str:
    return f"{purpose.value}:{caller.digest}"


class Challenges:
    """WebAuthn challenges, each under the key of what asked for it, taken once."""

    def __init__(self, steps: PendingSteps, clock: Clock) -> None:
        self._steps = steps
        self._clock = clock

    async def issue(
        self,
        key: str,
        purpose: PendingPurpose,
        user_id: uuid.UUID | None,
        kind: SessionKind = SessionKind.BROWSER,
        methods: AuthMethod = NO_METHOD,
        until: datetime | None = None,
    ) -> bytes:
        """A new challenge, live for CHALLENGE_LIFETIME (or `until`, when earlier)."""
        challenge = secrets.token_bytes(CHALLENGE_BYTES)
        now = self._clock.now()
        expires = min(now + CHALLENGE_LIFETIME, until or now + CHALLENGE_LIFETIME)
        step = PendingStep(purpose, expires, user_id, kind, methods, challenge)
        await self._steps.put(key, step, now)
        return challenge

    async def take(self, key: str, purpose: PendingPurpose) -> PendingStep | None:
        step = await self._steps.take(key)
        if (
            step is None
            or step.purpose is not purpose
            or step.challenge is None
            or not step.is_live(self._clock.now())
        ):
            return None
        return step
