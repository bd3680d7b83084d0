"""Every event told to an operator, kept in a list."""

from __future__ import annotations

import uuid

from coatcheck.domain.factors import FactorSummary
from coatcheck.domain.model import Session, User


class RecordedEvents:
    """Every event, as (name, details): what an operator would have been told."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, object]]] = []

    def registered(self, user: User) -> None:
        self.seen.append(("registered", {"user_id": user.id}))

    def logged_in(self, user: User, session: Session) -> None:
        self.seen.append(("logged_in", {"user_id": user.id, "kind": session.kind.value}))

    def log_in_failed(self, reason: str) -> None:
        self.seen.append(("log_in_failed", {"reason": reason}))

    def throttled(self, scope: str, retry_after_seconds: int) -> None:
        self.seen.append(("throttled", {"scope": scope, "retry_after": retry_after_seconds}))

    def factors_reset(self, user: User, had: FactorSummary) -> None:
        self.seen.append(("factors_reset", {"user_id": user.id, "had": had}))

    def sessions_ended(self, user_id: uuid.UUID | None, count: int, reason: str) -> None:
        self.seen.append(("sessions_ended", {"user_id": user_id, "count": count, "reason": reason}))

    def names(self) -> list[str]:
        return [name for name, _ in self.seen]
