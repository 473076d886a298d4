"""DORA's four keys, computed from deployment records (pure: no IO, no clock).

The definitions, over a window of ``days`` days ending at ``now`` (a deployment is in the
window when it ended, or started for one still under way, after ``now - days``):

- **Deployment frequency**: forward deployments that went live (``succeeded``, or
  ``rolled_back`` later) per day. Rollbacks are not changes and are not counted.
- **Lead time for changes**: for each commit, from its commit time to the finish of the
  first deployment that took it live; the median, in hours.
- **Change failure rate**: of the forward deployments that finished (succeeded, failed,
  rolled back), the share that failed: status ``failed`` or ``rolled_back``, or a
  succeeded deployment after which a feature's error rate rose (``regressions``: the
  dashboard's per-release deltas, see :func:`regressed`).
- **Time to restore** (DORA's "failed deployment recovery time"): from a failed
  deployment's end (for one rolled back or regressed: when it went live) to the end of
  the next deployment in the same environment that succeeded and stayed (a fix or a
  rollback; one rolled back later restored nothing); the median, in hours. A failure with no such deployment yet is counted as open.

Per feature, only the deployments whose commits touched the feature (or that regressed
it) count, and only those commits for the lead time; per owner, those of the features
the owner owns. The restore is the environment's next success whatever it touched.

The bands are the performance levels of the 2023 Accelerate State of DevOps report
(DORA, Google Cloud), "software delivery performance" table. The report gives ranges
with gaps between them; here each band starts where the one above it ends:

============================  ============  ============  ============  =========
metric                        elite         high          medium        low
============================  ============  ============  ============  =========
deployment frequency          ≥ 1 a day     ≥ 1 a week    ≥ 1 a month   less
lead time for changes         < 1 day       ≤ 1 week      ≤ 1 month     more
change failure rate           ≤ 5 %         ≤ 10 %        ≤ 15 %        more
time to restore               < 1 hour      < 1 day       ≤ 1 week      more
============================  ============  ============  ============  =========

Example:
    >>> from datetime import datetime, timedelta, timezone
    >>> now = datetime(2026, 12, 1, tzinfo=timezone.utc)
    >>> d = Deployment("p-1", "v1", "production", "succeeded", now - timedelta(hours=2), now - timedelta(hours=1),
    ...                commits=(Commit("ab12", now - timedelta(hours=5)),))
    >>> f = compute([d], now=now, days=7)
    >>> f.deployments, f.lead_time_hours, f.change_failure_rate, f.bands["lead_time"]
    (1, 4.0, 0.0, 'elite')
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import median
from typing import Any

from .records import FAILED, FINISHED, Commit, Deployment

SOURCE = "2023 Accelerate State of DevOps report (DORA)"
"""Where the band thresholds come from."""
WINDOWS = (7, 28, 90)
"""The windows the dashboard and ``hyper release dora`` show, in days."""
BANDS = ("elite", "high", "medium", "low")
HOUR = 1.0
DAY = 24.0
WEEK = 7 * DAY
MONTH = 30 * DAY
FREQUENCY = ((1.0, "elite"), (1 / 7, "high"), (1 / 30, "medium"))
"""Deploys per day at or above which a band starts."""
LEAD_TIME = ((DAY, False, "elite"), (WEEK, True, "high"), (MONTH, True, "medium"))
"""(hours, inclusive, band): a lead time below (or at, when inclusive) the hours is in the band."""
FAILURE_RATE = ((0.05, "elite"), (0.10, "high"), (0.15, "medium"))
"""A change failure rate at or below which a band starts."""
RESTORE = ((HOUR, False, "elite"), (DAY, False, "high"), (WEEK, True, "medium"))
REGRESSION_RISE = 0.05
"""An error rate rising by at least this much (five points) after a release is a failure..."""
REGRESSION_MIN_CALLS = 20
"""...when the feature had at least this many calls before it and after it (no baseline: no verdict)."""


def frequency_band(per_day: float | None) -> str | None:
    if per_day is None:
        return None
    return next((band for floor, band in FREQUENCY if per_day >= floor), "low")


def _hours_band(hours: float | None, table: tuple[tuple[float, bool, str], ...]) -> str | None:
    if hours is None:
        return None
    return next((band for limit, inclusive, band in table if hours < limit or (inclusive and hours == limit)), "low")


def lead_time_band(hours: float | None) -> str | None:
    return _hours_band(hours, LEAD_TIME)


def restore_band(hours: float | None) -> str | None:
    return _hours_band(hours, RESTORE)


def failure_rate_band(rate: float | None) -> str | None:
    if rate is None:
        return None
    return next((band for ceiling, band in FAILURE_RATE if rate <= ceiling), "low")


def regressed(deltas: Iterable[Mapping[str, Any]], rise: float = REGRESSION_RISE, min_calls: int = REGRESSION_MIN_CALLS) -> set[str]:
    """The features whose error rate rose after a release, from the dashboard's per-release
    deltas (:func:`hyperdeliver.usage.queries.release_deltas` rows).

    Example:
        >>> sorted(regressed([
        ...     {"feature": "a", "error_rate_before": 0.01, "error_rate_after": 0.18, "calls_before": 800, "calls_after": 900},
        ...     {"feature": "b", "error_rate_before": 0.01, "error_rate_after": 0.03, "calls_before": 800, "calls_after": 900},
        ...     {"feature": "c", "error_rate_before": 0.0, "error_rate_after": 0.2, "calls_before": 0, "calls_after": 900}]))
        ['a']
    """
    out = set()
    for row in deltas:
        before, after = row.get("error_rate_before") or 0.0, row.get("error_rate_after") or 0.0
        enough = min(int(row.get("calls_before") or 0), int(row.get("calls_after") or 0)) >= min_calls
        if enough and after - before >= rise - 1e-12:
            out.add(str(row["feature"]))
    return out


@dataclass(frozen=True)
class Figures:
    """The four keys for one scope and window."""

    days: int
    deployments: int
    """Forward deployments that went live in the window."""
    finished: int
    """Forward deployments that finished (went live or failed): the failure rate's base."""
    failures: int
    deploys_per_day: float
    lead_time_hours: float | None
    change_failure_rate: float | None
    time_to_restore_hours: float | None
    open_failures: int
    commits: int
    bands: dict[str, str | None] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "days": self.days, "deployments": self.deployments, "finished": self.finished, "failures": self.failures,
            "deploys_per_day": self.deploys_per_day, "lead_time_hours": self.lead_time_hours,
            "change_failure_rate": self.change_failure_rate, "time_to_restore_hours": self.time_to_restore_hours,
            "open_failures": self.open_failures, "commits": self.commits, "bands": dict(self.bands),
        }


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600.0


def _in_scope(d: Deployment, scope: Collection[str] | None, regressions: Mapping[str, Collection[str]]) -> bool:
    if scope is None:
        return True
    return bool(set(d.features) & set(scope)) or bool(set(regressions.get(d.id, ())) & set(scope))


def _commit_in_scope(c: Commit, d: Deployment, scope: Collection[str] | None) -> bool:
    if scope is None:
        return True
    if c.features:
        return bool(set(c.features) & set(scope))
    return bool(set(d.features) & set(scope))  # a commit given without its files


def is_failure(d: Deployment, scope: Collection[str] | None, regressions: Mapping[str, Collection[str]]) -> bool:
    """A failed change: failed or rolled back, or a release that raised an error rate (in scope)."""
    if d.status in FAILED:
        return True
    hit = set(regressions.get(d.id, ()))
    return d.status == "succeeded" and bool(hit if scope is None else hit & set(scope))


def compute(
    deployments: Iterable[Deployment],
    *,
    now: datetime,
    days: int,
    scope: Collection[str] | None = None,
    regressions: Mapping[str, Collection[str]] | None = None,
) -> Figures:
    """The four keys over the ``days`` days before ``now``, for the deployments touching
    ``scope`` (feature names; None: the whole product). ``regressions`` maps a deployment
    id to the features whose error rate it raised."""
    regs = regressions or {}
    since = now - timedelta(days=days)
    every = sorted(deployments, key=lambda d: (d.ended_at, d.id))
    window = [d for d in every if since < d.ended_at <= now]
    forward = [d for d in window if not d.rollback and _in_scope(d, scope, regs)]
    live = [d for d in forward if d.status in ("succeeded", "rolled_back")]
    finished = [d for d in forward if d.status in FINISHED]
    failed = [d for d in finished if is_failure(d, scope, regs)]

    # lead time: each commit once, at the first deployment that took it live
    seen: set[str] = set()
    first_live = {c.sha for d in every if d.status in ("succeeded", "rolled_back") and d.ended_at <= since for c in d.commits}
    leads = []
    for d in live:
        for c in d.commits:
            if c.sha in seen or c.sha in first_live or not _commit_in_scope(c, d, scope):
                continue
            seen.add(c.sha)
            leads.append(_hours(d.ended_at - c.committed_at))

    restores = []
    open_failures = 0
    for d in failed:
        fixed = next(
            (e for e in every if e.id != d.id and e.environment == d.environment and e.ended_at > d.ended_at
             and e.status == "succeeded"),
            None,
        )
        if fixed is None or fixed.ended_at > now:
            open_failures += 1
        else:
            restores.append(_hours(fixed.ended_at - d.ended_at))

    per_day = len(live) / days
    lead = float(median(leads)) if leads else None
    rate = len(failed) / len(finished) if finished else None
    restore = float(median(restores)) if restores else None
    return Figures(
        days=days, deployments=len(live), finished=len(finished), failures=len(failed), deploys_per_day=per_day,
        lead_time_hours=lead, change_failure_rate=rate, time_to_restore_hours=restore, open_failures=open_failures,
        commits=len(leads),
        bands={
            "deployment_frequency": frequency_band(per_day),
            "lead_time": lead_time_band(lead),
            "change_failure_rate": failure_rate_band(rate),
            "time_to_restore": restore_band(restore),
        },
    )


def breakdown(
    deployments: Iterable[Deployment],
    *,
    now: datetime,
    owners: Mapping[str, str],
    windows: Iterable[int] = WINDOWS,
    regressions: Mapping[str, Collection[str]] | None = None,
) -> dict[str, Any]:
    """Per window: the product's figures, each feature's and each owner's.

    ``owners`` maps each feature to its owner (``Feature.owner``). Returns
    ``{days: {"product": Figures, "features": {name: Figures}, "owners": {owner: Figures}}}``.
    """
    deps = list(deployments)
    by_owner: dict[str, set[str]] = {}
    for feature, owner in owners.items():
        by_owner.setdefault(owner, set()).add(feature)
    out: dict[str, Any] = {}
    for days in windows:
        out[str(days)] = {
            "product": compute(deps, now=now, days=days, regressions=regressions),
            "features": {f: compute(deps, now=now, days=days, scope={f}, regressions=regressions) for f in sorted(owners)},
            "owners": {o: compute(deps, now=now, days=days, scope=fs, regressions=regressions) for o, fs in sorted(by_owner.items())},
        }
    return out
