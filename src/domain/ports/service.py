"""What the running service gives the domain: the time, a store's health, and what an operator is
told."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol

from coatcheck.domain.factors import FactorSummary
from coatcheck.domain.model import Session, User


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class HealthCheck(Protocol):
    async def ping(self) -> None:
        """Return when the store answers and accepts writes (what a log-in needs); raise
        StoreUnavailable otherwise."""


class Events(Protocol):
    """What an operator is told of (logs, metrics). Never a password, ticket or hash."""

    def registered(self, user: User) -> None: ...

    def logged_in(self, user: User, session: Session) -> None: ...

    def log_in_failed(self, reason: str) -> None: ...

    def throttled(self, scope: str, retry_after_seconds: int) -> None: ...

    def sessions_ended(self, user_id: uuid.UUID | None, count: int, reason: str) -> None: ...

    def factors_reset(self, user: User, had: FactorSummary) -> None:
        """An operator removed every second factor of the user (audited)."""
