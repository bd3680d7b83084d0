"""The outbox's metrics: how much waits and for how long, and what became of each send."""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Gauge


class OutboxMetrics:
    def __init__(self, registry: Any = None) -> None:
        self.depth = Gauge(
            "coatcheck_outbox_depth", "Letters waiting to be sent", registry=registry
        )
        self.oldest_age = Gauge(
            "coatcheck_outbox_oldest_age_seconds",
            "Age of the oldest letter waiting to be sent (0 when none waits)",
            registry=registry,
        )
        self.sent = Counter("coatcheck_outbox_sent", "Letters sent", registry=registry)
        self.retried = Counter(
            "coatcheck_outbox_retried",
            "Sends that failed for a while (server down, 4xx) and will be tried again",
            registry=registry,
        )
        self.failed = Counter(
            "coatcheck_outbox_failed",
            "Letters not sent, by why: refused (5xx), gave-up (past the retry period), expired"
            " (its link's lifetime ended first), unreadable (sealed under another key)",
            ["reason"],
            registry=registry,
        )
