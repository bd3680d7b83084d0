"""Prometheus metrics, in a registry of each app's own (so that apps in one process, as in
the tests, never share counts). What every request updates is kept as plain counts
(request_metrics.py); the rest are prometheus_client's own."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.exposition import generate_latest

from coatcheck.adapters.email.outbox_metrics import OutboxMetrics
from coatcheck.adapters.store_watch import StoreMetrics
from coatcheck.entrypoints.request_metrics import RequestMetrics

CONTENT_TYPE = "text/plain"  # version=0.0.4, Prometheus' text format


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        registry = self.registry
        self.requests = RequestMetrics()
        registry.register(self.requests)
        self.log_ins = Counter(
            "coatcheck_log_ins",
            "Log-in attempts checked, by outcome (success, invalid-credentials, ...)",
            ["outcome"],
            registry=registry,
        )
        self.throttled = Counter(
            "coatcheck_throttled_attempts",
            "Log-in or password attempts refused by the throttle, by what was locked",
            ["scope"],
            registry=registry,
        )
        self.registrations = Counter(
            "coatcheck_registrations", "Users registered", registry=registry
        )
        self.sessions_ended = Counter(
            "coatcheck_sessions_ended",
            "Sessions ended on purpose (log-out, revocation, password change, operator)",
            ["reason"],
            registry=registry,
        )
        self.overloaded = Counter(
            "coatcheck_overloaded",
            "Requests answered 503 overloaded: no capacity in time (not an outage)",
            ["resource"],
            registry=registry,
        )
        self.deadline_exceeded = Counter(
            "coatcheck_deadline_exceeded",
            "Requests that ran out of their deadline",
            registry=registry,
        )
        self.websockets = Gauge(
            "coatcheck_websockets", "Live WebSocket connections", registry=registry
        )
        self.websockets_refused = Counter(
            "coatcheck_websockets_refused",
            "Events socket handshakes refused (429) by the limit they were over",
            ["limit"],
            registry=registry,
        )
        self.store = StoreMetrics(registry)
        self.outbox = OutboxMetrics(registry)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
