"""The domain's events, told to an operator: one JSON log line each (with the request id of
the request that caused it) and a metric. Never a password, ticket, digest or hash: users
are named by id, never by email."""

from __future__ import annotations

import logging
import uuid

from coatcheck.domain.factors import FactorSummary
from coatcheck.domain.model import Session, User
from coatcheck.entrypoints.metrics import Metrics

log = logging.getLogger("coatcheck.events")


class LoggedEvents:
    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def registered(self, user: User) -> None:
        self._metrics.registrations.inc()
        log.info("registered", extra={"event": "registered", "user_id": str(user.id)})

    def logged_in(self, user: User, session: Session) -> None:
        self._metrics.log_ins.labels("success").inc()
        log.info(
            "log-in",
            extra={
                "event": "log_in",
                "outcome": "success",
                "user_id": str(user.id),
                "session_id": session.id,
                "kind": session.kind.value,
            },
        )

    def log_in_failed(self, reason: str) -> None:
        self._metrics.log_ins.labels(reason).inc()
        log.info("log-in failed", extra={"event": "log_in", "outcome": reason})

    def throttled(self, scope: str, retry_after_seconds: int) -> None:
        self._metrics.throttled.labels(scope).inc()
        log.info(
            "throttled",
            extra={"event": "throttled", "scope": scope, "retry_after": retry_after_seconds},
        )

    def factors_reset(self, user: User, had: FactorSummary) -> None:
        extra = {"event": "factors_reset", "user_id": str(user.id), "totp": had.totp}
        extra |= {"passkeys": had.passkeys, "recovery_codes": had.recovery_codes}
        log.warning("second factors reset by an operator", extra=extra)

    def sessions_ended(self, user_id: uuid.UUID | None, count: int, reason: str) -> None:
        self._metrics.sessions_ended.labels(reason).inc(count)
        extra: dict[str, object] = {"event": "sessions_ended", "reason": reason, "count": count}
        if user_id is not None:
            extra["user_id"] = str(user_id)
        log.info("sessions ended", extra=extra)
