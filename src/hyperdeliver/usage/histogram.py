"""Fixed log-scale duration buckets for p50/p95 from rollups.

Bucket 0 holds durations under 0.1 ms; bucket k (1..N-1) holds [0.1·1.5^(k-1), 0.1·1.5^k) ms;
the last bucket is open-ended (≥ ~19 s). Quantiles are interpolated geometrically inside
the bucket, so the error is bounded by one bucket width (factor 1.5).

Example:
    >>> counts = [0] * NBUCKETS
    >>> counts[bucket(10.0)] += 100
    >>> 6.6 < quantile(counts, 0.95) < 15.0
    True
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence

NBUCKETS = 32
BASE_MS = 0.1
RATIO = 1.5
COLUMNS = [f"h{i}" for i in range(NBUCKETS)]
EDGES = [BASE_MS * RATIO**k for k in range(NBUCKETS - 1)]
"""EDGES[k] is where bucket k + 1 starts: ``bisect_right(EDGES, ms)`` is the bucket."""


def bucket(ms: float) -> int:
    return bisect_right(EDGES, ms)


def sorted_counts(values: Sequence[float], edges: Sequence[float], *, upper_inclusive: bool = False) -> list[int]:
    """Bucket counts of ascending ``values``, ``len(edges) + 1`` buckets: bucket i holds
    ``edges[i-1] <= v < edges[i]`` (``edges[i-1] < v <= edges[i]`` with ``upper_inclusive``,
    Prometheus' ``le``). One bisection per edge instead of one per value.

    >>> sorted_counts([0.05, 0.1, 0.1, 7.0], [0.1, 1.0])
    [1, 2, 1]
    >>> sorted_counts([0.05, 0.1, 0.1, 7.0], [0.1, 1.0], upper_inclusive=True)
    [3, 0, 1]
    """
    find = bisect_right if upper_inclusive else bisect_left
    out: list[int] = []
    below, total = 0, len(values)
    for edge in edges:
        if below == total:  # every value placed: the rest of the buckets are empty
            out.extend([0] * (len(edges) + 1 - len(out)))
            return out
        upto = find(values, edge, below)
        out.append(upto - below)
        below = upto
    out.append(total - below)
    return out


def bounds(k: int) -> tuple[float, float]:
    """The [low, high) range of bucket k in ms."""
    if k == 0:
        return 0.0, BASE_MS
    return BASE_MS * RATIO ** (k - 1), BASE_MS * RATIO**k


def quantile(counts: Sequence[int], q: float) -> float | None:
    """The q-quantile (0..1) in ms from bucket counts; None when empty."""
    total = sum(counts)
    if total <= 0:
        return None
    rank = q * total
    cum = 0
    for k, n in enumerate(counts):
        if n and cum + n >= rank:
            lo, hi = bounds(k)
            frac = (rank - cum) / n
            if k == 0:
                return lo + (hi - lo) * frac
            return lo * (hi / lo) ** frac
        cum += n
    return bounds(NBUCKETS - 1)[1]
