"""Prometheus metrics of one app, in the app's own registry (prometheus-client).

Example:
    >>> class Op: name = "list_tasks"; feature = type("F", (), {"name": "tasks"})
    >>> op = Op()
    >>> m = Metrics(); m.calls.observe(op, None, 200, 0.003)
    >>> b'hd_requests_total{feature="tasks",operation="list_tasks",status="200"} 1.0' in m.render()
    True
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.registry import Collector

from ..usage.histogram import sorted_counts

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BUCKETS_MS = [b * 1000.0 for b in BUCKETS]


class UsageCollector(Collector):
    """Reads the usage recorder's counters at scrape time."""

    def __init__(self, counters: Callable[[], dict[str, Any]]) -> None:
        self.counters = counters

    def collect(self) -> Iterator[Any]:
        c = self.counters()
        for name in ("produced", "persisted", "dropped"):
            yield CounterMetricFamily(f"hd_usage_events_{name}", f"usage events {name}", value=c[name])
        yield GaugeMetricFamily("hd_usage_events_pending", "usage events buffered, not yet written", value=c["pending"])


class PoolCollector(Collector):
    """The database pools' connections at scrape time (``Database.pool_status``), labelled
    by pool (``transactions``, and ``reads`` on PostgreSQL)."""

    HELP = {"size": "connections the pool keeps open", "checked_out": "pooled connections in use",
            "idle": "pooled connections open and free", "overflow": "connections open beyond the pool's size"}

    def __init__(self, status: Callable[[], dict[str, dict[str, int]]]) -> None:
        self.status = status

    def collect(self) -> Iterator[Any]:
        pools = self.status()
        for key, text in self.HELP.items():
            family = GaugeMetricFamily(f"hd_db_pool_{key}", text, labels=["pool"])
            for name, s in pools.items():
                family.add_metric([name], s[key])
            yield family


class CallCollector(Collector):
    """Calls and their latency per feature and operation, turned into Prometheus families
    at scrape time.

    Fed one of two ways: per call as a front-controller observer (:meth:`observe`, plain
    dict updates, no locks: one event loop thread), or, when usage recording is on, from
    the recorder's batches (:meth:`add_stats`) plus the calls still buffered at scrape
    time (``pending``), so that a call costs the request path one append, not two.
    """

    def __init__(self, pending: Callable[[], Iterable[Any]] | None = None) -> None:
        self.calls: dict[tuple[Any, int], int] = {}
        self.latency: dict[Any, list[Any]] = {}
        self.pending = pending

    def observe(self, op: Any, ctx: Any, status: int, seconds: float) -> None:
        """A front-controller observer: counts keyed by the operation object itself,
        its feature and name looked up only at scrape time."""
        key = (op, status)
        calls = self.calls
        calls[key] = calls.get(key, 0) + 1
        lat = self.latency.get(op)
        if lat is None:
            lat = self.latency[op] = [[0] * (len(BUCKETS) + 1), 0.0]
        lat[0][bisect_left(BUCKETS, seconds)] += 1
        lat[1] += seconds

    def add_stats(self, stats: Iterable[Any]) -> None:
        """Add a batch's per-operation stats (:class:`~hyperdeliver.usage.buffer.KeyStats`)."""
        _add_stats(self.calls, self.latency, stats)

    def collect(self) -> Iterator[Any]:
        calls, latency = self.calls, self.latency
        pending = list(self.pending()) if self.pending is not None else []
        if pending:  # added to copies: the recorder hands these calls over when it flushes them
            calls, latency = dict(calls), {op: [list(counts), total] for op, (counts, total) in latency.items()}
            _add_stats(calls, latency, pending)
        family = CounterMetricFamily("hd_requests", "calls by feature, operation and status", labels=["feature", "operation", "status"])
        for (op, st), n in list(calls.items()):
            family.add_metric([op.feature.name, op.name, str(st)], n)
        yield family
        hist = HistogramMetricFamily("hd_request_duration_seconds", "call latency", labels=["feature", "operation"])
        for op, (counts, total) in list(latency.items()):
            running, buckets = 0, []
            for le, n in zip(BUCKETS, counts):
                running += n
                buckets.append((str(le), running))
            buckets.append(("+Inf", running + counts[-1]))
            hist.add_metric([op.feature.name, op.name], buckets, total)
        yield hist


def _add_stats(calls: dict[tuple[Any, int], int], latency: dict[Any, list[Any]], stats: Iterable[Any]) -> None:
    for s in stats:
        op = s.op
        for status, n in s.statuses.items():
            key = (op, status)
            calls[key] = calls.get(key, 0) + n
        lat = latency.get(op)
        if lat is None:
            lat = latency[op] = [[0] * (len(BUCKETS) + 1), 0.0]
        counts = lat[0]
        for i, n in enumerate(sorted_counts(s.durations, BUCKETS_MS, upper_inclusive=True)):
            counts[i] += n
        lat[1] += sum(s.durations) / 1000.0


class Metrics:
    def __init__(self, pending: Callable[[], Iterable[Any]] | None = None) -> None:
        self.registry = CollectorRegistry()
        self.calls = CallCollector(pending)
        self.registry.register(self.calls)
        self.flush = Histogram("hd_usage_flush_seconds", "usage flush latency", buckets=BUCKETS, registry=self.registry)

    def add_pool(self, status: Callable[[], dict[str, dict[str, int]]]) -> None:
        self.registry.register(PoolCollector(status))

    def add_usage(self, counters: Callable[[], dict[str, Any]]) -> None:
        self.registry.register(UsageCollector(counters))

    def render(self) -> bytes:
        return generate_latest(self.registry)
