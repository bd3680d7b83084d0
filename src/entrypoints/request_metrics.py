"""Per-request metrics at the cost of a dict lookup and two additions: plain counts kept on
the event loop's thread (so no lock), by the route's resource (a fixed set: the app's),
turned into Prometheus families, named by the resource's template, only when scraped
(prometheus_client's custom-collector API)."""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from typing import Protocol

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
NO_ROUTE = "(none)"
MAX_SERIES = 1000  # bounded whatever clients send


class Resource(Protocol):
    """What a route's resource is to the metrics: its template."""

    @property
    def canonical(self) -> str: ...


class _Route:
    __slots__ = ("buckets", "sum")

    def __init__(self) -> None:
        self.buckets = [0] * (len(BUCKETS) + 1)
        self.sum = 0.0


class RequestMetrics(Collector):
    """coatcheck_http_requests_total{route,method,status} and
    coatcheck_http_request_duration_seconds{route}."""

    def __init__(self) -> None:
        self._counts: dict[tuple[Resource | None, str, int], int] = {}
        self._durations: dict[Resource | None, _Route] = {}

    def observe(self, route: Resource | None, method: str, status: int, seconds: float) -> None:
        """One answer of a route (None: no route matched)."""
        key = (route, method if method in _METHODS else "OTHER", status)
        count = self._counts.get(key)
        if count is None and len(self._counts) >= MAX_SERIES:
            return
        self._counts[key] = (count or 0) + 1
        timing = self._durations.get(route)
        if timing is None:
            timing = self._durations[route] = _Route()
        timing.buckets[bisect.bisect_left(BUCKETS, seconds)] += 1
        timing.sum += seconds

    def collect(self) -> Iterator[CounterMetricFamily | HistogramMetricFamily]:
        counts: dict[tuple[str, str, int], int] = {}
        for (route, method, status), count in self._counts.items():
            key = (_name(route), method, status)
            counts[key] = counts.get(key, 0) + count
        requests = CounterMetricFamily(
            "coatcheck_http_requests",
            "HTTP requests answered, by route template, method and status",
            labels=["route", "method", "status"],
        )
        for (name, method, status), count in sorted(counts.items()):
            requests.add_metric([name, method, str(status)], count)
        yield requests
        timings: dict[str, _Route] = {}
        for route, timing in self._durations.items():
            merged = timings.setdefault(_name(route), _Route())
            merged.buckets = [a + b for a, b in zip(merged.buckets, timing.buckets, strict=True)]
            merged.sum += timing.sum
        durations = HistogramMetricFamily(
            "coatcheck_http_request_duration_seconds",
            "Time from a request's first middleware to its answer, by route template",
            labels=["route"],
        )
        for name, timing in sorted(timings.items()):
            cumulative, buckets = 0, []
            for bound, count in zip((*BUCKETS, float("inf")), timing.buckets, strict=True):
                cumulative += count
                buckets.append((str(bound) if bound != float("inf") else "+Inf", cumulative))
            durations.add_metric([name], buckets, timing.sum)
        yield durations


def _name(route: Resource | None) -> str:
    return NO_ROUTE if route is None else route.canonical
