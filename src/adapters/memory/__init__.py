"""Dict-backed users, sessions, log-in attempts, one-time tokens and known devices, and an
outbox and an email sender that keep what they are given: real implementations of the
ports, for unit tests and in-process use."""

from coatcheck.adapters.memory.account_tokens import InMemoryAccountTokens, InMemoryKnownDevices
from coatcheck.adapters.memory.email import InMemoryEmailSender
from coatcheck.adapters.memory.events import RecordedEvents
from coatcheck.adapters.memory.factors import InMemoryFactors, InMemoryPendingSteps
from coatcheck.adapters.memory.login_attempts import InMemoryLoginAttempts
from coatcheck.adapters.memory.milestones import InMemoryMilestones
from coatcheck.adapters.memory.outbox import InMemoryOutboxStore
from coatcheck.adapters.memory.session_events import InMemorySessionEvents
from coatcheck.adapters.memory.sessions import InMemorySessions
from coatcheck.adapters.memory.users import InMemoryUsers

__all__ = [
    "InMemoryAccountTokens",
    "InMemoryEmailSender",
    "InMemoryFactors",
    "InMemoryKnownDevices",
    "InMemoryLoginAttempts",
    "InMemoryMilestones",
    "InMemoryOutboxStore",
    "InMemoryPendingSteps",
    "InMemorySessionEvents",
    "InMemorySessions",
    "InMemoryUsers",
    "RecordedEvents",
]
