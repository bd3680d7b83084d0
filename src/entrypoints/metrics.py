"""Prometheus metrics, in a registry of each app's own (so that apps in one process, as in
the tests, never share counts). On the request path, labels are resolved once per (route,
method, status) and kept: a request costs one counter increment and one histogram
observation."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest

from adapters.store_watch import StoreMetrics

CONTENT_TYPE = "text/plain"  # version=0.0.4, Prometheus' text format
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
NO_ROUTE = "(none)"
_Children = tuple[Any, Any]


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        registry = self.registry
        self.requests = Counter(
            "coatcheck_http_requests",
            "HTTP requests answered, by route template, method and status",
            ["route", "method", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            "coatcheck_http_request_duration_seconds",
            "Time from a request's first middleware to its answer, by route template",
            ["route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=registry,
        )
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
        self.store = StoreMetrics(registry)
        self._children: dict[tuple[object, str, int], _Children] = {}

    def request(self, route: web.AbstractResource | None, method: str, status: int) -> _Children:
        """The (counter, histogram) of this route, method and status, made once."""
        key = (route, method, status)
        children = self._children.get(key)
        if children is None:
            name = NO_ROUTE if route is None else route.canonical
            shown = method if method in _METHODS else "OTHER"
            children = (
                self.requests.labels(name, shown, str(status)),
                self.duration.labels(name),
            )
            if route is not None or len(self._children) < 1000:  # bounded whatever is sent
                self._children[key] = children
        return children

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
