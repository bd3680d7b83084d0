"""A store's health as its adapter sees it: one log line when it starts failing (with the
cause: error class and the address of the node that failed, never a password), one when it
has answered steadily again (STEADY_SECONDS without a failure; with how many operations
failed in between), and the metrics of every round trip and of every failed operation.

The hysteresis is what keeps an outage one pair of lines: a store that fails some operations
and answers others (Redis out of memory refuses writes, not reads; a cluster losing one
primary fails a third of the keys) would otherwise go up and down with every request."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from prometheus_client import Counter, Gauge, Histogram

from coatcheck.adapters import loop_lag

log = logging.getLogger("coatcheck.store")
STEADY_SECONDS = 1.0
EVENT_LOOP = "event loop"  # what a burst exhausted, when it held up the loop itself
LAGGING_SECONDS = 0.1  # a timeout while the loop ran this late was the process's own
_NODE = re.compile(r"(?:connecting to|reading from|writing to) ([\w.:\[\]-]+?:\d+)")

_CAUSES_BY_NAME = {
    "OutOfMemoryError": "out-of-memory",
    "ReadOnlyError": "read-only",
    "ReadOnlySQLTransactionError": "read-only",
    "QueryCanceledError": "timeout",
    "ClusterDownError": "cluster",
    "TryAgainError": "cluster",
    "ClusterError": "cluster",
    "MasterDownError": "cluster",
    "TooManyConnectionsError": "too-many-connections",
    "InvalidAuthorizationSpecificationError": "refused-credentials",
    "AuthenticationError": "refused-credentials",
    "InvalidCatalogNameError": "no-database",
    "CannotConnectNowError": "starting-up",
    "UndefinedTableError": "not-migrated",
}


def chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen and len(seen) < 8:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def cause_of(error: BaseException) -> tuple[str, str]:
    """(a short cause: refused, timeout, out-of-memory, ...; the class of the error that says
    it) for an error a store client raised."""
    links = chain(error)
    for link in links:
        name = type(link).__name__
        if name in _CAUSES_BY_NAME:
            return _CAUSES_BY_NAME[name], name
    for link in links:
        if isinstance(link, ConnectionRefusedError) or "Connection refused" in str(link):
            return "refused", type(link).__name__
    for link in links:
        if isinstance(link, TimeoutError) or type(link).__name__ == "TimeoutError":
            return "timeout", type(link).__name__
    for link in links:
        if isinstance(link, OSError) or "Connection" in type(link).__name__:
            return "connection", type(link).__name__
    return "client-error", type(error).__name__  # a store client's own fault: AttributeError...


def node_of(error: BaseException) -> str | None:
    """host:port of the node an error came from, when the client says (redis-py names it
    in its connection errors: on a cluster, the node that failed rather than the seed)."""
    for link in chain(error):
        found = _NODE.search(str(link))
        if found:
            return found.group(1)
    return None


class StoreMetrics:
    """The store metrics of one registry."""

    def __init__(self, registry: Any) -> None:
        self.errors = Counter(
            "coatcheck_store_errors",
            "Store operations that failed, by store and cause",
            ["store", "cause"],
            registry=registry,
        )
        self.up = Gauge(
            "coatcheck_store_up",
            "1 while the store answers, 0 while it fails",
            ["store"],
            registry=registry,
        )
        self.round_trip = Histogram(
            "coatcheck_store_round_trip_seconds",
            "Time of one store operation (a batch of reads counts once)",
            ["store"],
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
            registry=registry,
        )


class StoreWatch:
    """One store (named as readiness names it: "users", "sessions"), at one address.

    `answers` counts the operations it answered: a wait for capacity that saw it grow was a
    burst, not an outage. The clock is read only while the store is down, and on failures."""

    def __init__(
        self,
        store: str,
        address: str,
        metrics: StoreMetrics | None = None,
        steady_seconds: float = STEADY_SECONDS,
    ) -> None:
        self.store = store
        self.address = address
        self._metrics = metrics
        self._observe = metrics.round_trip.labels(store).observe if metrics else None
        self._up = metrics.up.labels(store) if metrics else None
        if self._up is not None:
            self._up.set(1)
        self._steady = steady_seconds
        self.down = False
        self.answers = 0
        self._since = 0.0
        self._last_failure = 0.0
        self._failed = 0
        # Which nodes failed, asked when an error does not say (a Redis Cluster's).
        self.locate: Callable[[], Awaitable[list[str]]] | None = None
        self._locating: asyncio.Task[None] | None = None
        loop_lag.watch_running_loop()

    def answered(self, seconds: float) -> None:
        self.answers += 1
        if self._observe is not None:
            self._observe(seconds)
        if self.down and time.monotonic() - self._last_failure >= self._steady:
            self._came_back()

    def failed(self, error: BaseException, node: str | None = None) -> None:
        """An operation failed (every one is counted); `node` (host:port) when the caller
        knows which node failed better than the error says."""
        cause, error_class = cause_of(error)
        if self._metrics is not None:
            self._metrics.errors.labels(self.store, cause).inc()
        self._failed += 1
        self._last_failure = time.monotonic()
        if self.down:
            return
        self.down, self._since, self._failed = True, self._last_failure, 1
        if self._up is not None:
            self._up.set(0)
        where = node or node_of(error)
        if where is None and self.locate is not None:
            self._locating = asyncio.get_running_loop().create_task(
                self._located_down_line(self.locate, cause, error_class)
            )
            return
        self._down_line(where or self.address, cause, error_class)

    async def _located_down_line(
        self, locate: Callable[[], Awaitable[list[str]]], cause: str, error_class: str
    ) -> None:
        try:
            where = ",".join(await locate()) or self.address
        except Exception:
            where = self.address
        self._down_line(where, cause, error_class)

    def _down_line(self, address: str, cause: str, error_class: str) -> None:
        log.warning(
            "store down",
            extra={
                "event": "store_down",
                "store": self.store,
                "address": address,
                "cause": cause,
                "error": error_class,
            },
        )

    def overloaded(self, error: BaseException) -> bool:
        """Whether a failure was the process's, not the store's: a timeout while the event
        loop ran late (a burst), which the store is not to blame for."""
        loop_lag.watch_running_loop()
        return loop_lag.recent_lag() >= LAGGING_SECONDS and cause_of(error)[0] == "timeout"

    def _came_back(self) -> None:
        self.down = False
        if self._up is not None:
            self._up.set(1)
        log.info(
            "store up",
            extra={
                "event": "store_up",
                "store": self.store,
                "address": self.address,
                "failed_operations": self._failed,
                "down_seconds": round(time.monotonic() - self._since, 3),
            },
        )


def address_of(url: str) -> str:
    """host:port of a store URL, never its credentials."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    host = parts.hostname or parts.path or "-"
    return f"{host}:{port}" if port else host
