"""What the domain needs from the outside world, by concern. Adapters fit these; mypy checks
that they do. Every port is importable from here."""

from __future__ import annotations

from coatcheck.domain.ports.factors import (
    Factors,
    OneTimePasswords,
    PasskeyCeremonies,
    PendingSteps,
    Sealer,
)
from coatcheck.domain.ports.mail import (
    Compose,
    EmailSender,
    EntryState,
    Outbox,
    OutboxEntry,
    OutboxStore,
    ResolvedEntry,
)
from coatcheck.domain.ports.service import Clock, Events, HealthCheck
from coatcheck.domain.ports.sessions import (
    LoginAttempts,
    Milestones,
    SessionEventFeed,
    SessionEvents,
    Sessions,
    StoredSession,
)
from coatcheck.domain.ports.users import AccountTokens, KnownDevices, PasswordHasher, Users

__all__ = [
    "AccountTokens",
    "Clock",
    "Compose",
    "EmailSender",
    "EntryState",
    "Events",
    "Factors",
    "HealthCheck",
    "KnownDevices",
    "LoginAttempts",
    "Milestones",
    "OneTimePasswords",
    "Outbox",
    "OutboxEntry",
    "OutboxStore",
    "PasskeyCeremonies",
    "PasswordHasher",
    "PendingSteps",
    "ResolvedEntry",
    "Sealer",
    "SessionEventFeed",
    "SessionEvents",
    "Sessions",
    "StoredSession",
    "Users",
]
