"""Folding recorded calls into rollup increments, in one pass and without datetimes.

A recorded call is a ``Row``: ``(epoch seconds, feature, operation, interface, user id,
status, duration ms, release)``, what the recorder appends per call. :func:`fold` adds
a batch of rows into a :class:`Folded`: per (hour, feature, operation, interface) the
calls, errors (status ≥ 500), summed and bucketed durations; per (day, feature, user)
the calls and the last call. Hours and days are integers since the epoch, turned into
dates only once per key when written.

Example:
    >>> f = fold([(7200.5, "tasks", "list", "rest", 1, 200, 3.0, "1.0"), (7300.0, "tasks", "list", "rest", 1, 503, 5.0, "1.0")])
    >>> f.hours[(2, "tasks", "list", "rest")][:3]
    [2, 1, 8.0]
    >>> f.user_days[(0, "tasks", 1)]
    [2, 7300.0]
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from datetime import date, datetime, timezone
from typing import Any

from .histogram import EDGES, NBUCKETS

Row = tuple[float, str, str, str, "int | None", int, float, str]
HourKey = tuple[int, str, str, str]
UserDayKey = tuple[int, str, int]
UserDays = dict[UserDayKey, list[Any]]
"""Per (day, feature, user): [calls, last epoch]."""
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_EMPTY = [0, 0, 0.0] + [0] * NBUCKETS


class Folded:
    """Rollup increments: ``hours[key] = [calls, errors, sum_ms, h0..h31]``,
    ``user_days[(day, feature, user)] = [calls, last epoch]``."""

    __slots__ = ("hours", "user_days")

    def __init__(self) -> None:
        self.hours: dict[HourKey, list[Any]] = {}
        self.user_days: dict[UserDayKey, list[Any]] = {}

    def days(self) -> dict[HourKey, list[Any]]:
        """The hourly increments summed per (day, feature, operation, interface)."""
        out: dict[HourKey, list[Any]] = {}
        for (hour, f, o, i), row in self.hours.items():
            k = (hour // 24, f, o, i)
            acc = out.get(k)
            if acc is None:
                out[k] = list(row)
            else:
                for n, v in enumerate(row):
                    acc[n] += v
        return out


def fold(rows: Iterable[Row], into: Folded | None = None) -> Folded:
    """Add ``rows`` into ``into`` (a new :class:`Folded` when None) and return it."""
    out = into if into is not None else Folded()
    hours = out.hours
    user_days = out.user_days
    edges = EDGES
    for ts, feature, operation, interface, uid, status, ms, _ in rows:
        k = (int(ts // 3600), feature, operation, interface)
        acc = hours.get(k)
        if acc is None:
            acc = hours[k] = _EMPTY.copy()
        acc[0] += 1
        if status >= 500:
            acc[1] += 1
        acc[2] += ms
        acc[3 + bisect_right(edges, ms)] += 1
        if uid is not None:
            uk = (int(ts // 86400), feature, uid)
            u = user_days.get(uk)
            if u is None:
                user_days[uk] = [1, ts]
            else:
                u[0] += 1
                if ts > u[1]:
                    u[1] = ts
    return out


def merge_user_days(into: dict[UserDayKey, list[Any]], more: dict[UserDayKey, list[Any]]) -> None:
    """Add per-(day, feature, user) counts of ``more`` into ``into``."""
    for k, (calls, last) in more.items():
        u = into.get(k)
        if u is None:
            into[k] = [calls, last]
        else:
            u[0] += calls
            if last > u[1]:
                u[1] = last


def day_of(day_number: int) -> date:
    """Days since 1970-01-01 → the date."""
    return date.fromordinal(EPOCH_ORDINAL + day_number)


def hour_of(hour_number: int) -> datetime:
    """Hours since the epoch → the aware UTC datetime of that hour."""
    return datetime.fromtimestamp(hour_number * 3600, timezone.utc)


def utc(epoch: float) -> datetime:
    """Epoch seconds → an aware UTC datetime."""
    return datetime.fromtimestamp(epoch, timezone.utc)


def sqlite_text(epoch: float) -> str:
    """Epoch seconds → naive UTC text, as SQLAlchemy stores a DateTime on SQLite.

    >>> sqlite_text(7200.5)
    '1970-01-01 02:00:00.500000'
    """
    return datetime.fromtimestamp(epoch, timezone.utc).replace(tzinfo=None).isoformat(" ", "microseconds")


def as_row(event: Any) -> Row:
    """A :class:`~hyperdeliver.usage.events.UsageEvent` (aware or naive-UTC ts) as a Row."""
    ts = event[0]
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=timezone.utc)
    return (ts.timestamp(), *event[1:])  # type: ignore[return-value]
