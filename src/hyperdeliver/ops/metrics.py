"""Prometheus metrics of one app, in the app's own registry (prometheus-client).

Example:
    >>> m = Metrics(); m.observe_call("tasks", "list_tasks", 200, 0.003)
    >>> b"hd_requests_total" in m.render()
    True
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class UsageCollector(Collector):
    """Reads the usage recorder's counters at scrape time."""

    def __init__(self, counters: Callable[[], dict[str, Any]]) -> None:
        self.counters = counters

    def collect(self) -> Iterator[Any]:
        c = self.counters()
        for name in ("produced", "persisted", "dropped"):
            yield CounterMetricFamily(f"hd_usage_events_{name}", f"usage events {name}", value=c[name])
        yield GaugeMetricFamily("hd_usage_events_pending", "usage events buffered, not yet written", value=c["pending"])


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("hd_requests", "calls by feature, operation and status", ["feature", "operation", "status"], registry=self.registry)
        self.latency = Histogram("hd_request_duration_seconds", "call latency", ["feature", "operation"], buckets=BUCKETS, registry=self.registry)
        self.flush = Histogram("hd_usage_flush_seconds", "usage flush latency", buckets=BUCKETS, registry=self.registry)
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe_call(self, feature: str, operation: str, status: int, seconds: float) -> None:
        key = (feature, operation, status)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = (self.requests.labels(feature, operation, str(status)), self.latency.labels(feature, operation))
        child[0].inc()
        child[1].observe(seconds)

    def add_usage(self, counters: Callable[[], dict[str, Any]]) -> None:
        self.registry.register(UsageCollector(counters))

    def render(self) -> bytes:
        return generate_latest(self.registry)
