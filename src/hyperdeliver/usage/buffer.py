"""CallBuffer: the recorder's calls waiting for the next flush, held column-wise.

Durations and timestamps sit unboxed in ``array("d")``, statuses in ``array("H")``, and
the operation, interface and user as references to objects that already exist, so a
buffered call keeps no object of its own alive between flushes. A flush then works on
whole columns with C-level iteration (``Counter``, ``zip``, ``map``): folding into the
rollups and building the driver's records cost no Python bytecode per call when the
batch lies within one hour, which is every batch but the one that crosses the hour.

Example:
    >>> class Op: name = "list"; feature = type("F", (), {"name": "tasks"})
    >>> b = CallBuffer(); op = Op()
    >>> for uid, status in ((3, 200), (3, 503), (None, 200)): b.append(7200.5, op, "rest", uid, status, 1.5)
    >>> f = b.fold(); f.hours[(2, "tasks", "list", "rest")][:3], f.user_days
    ([3, 1, 4.5], {(0, 'tasks', 3): [2, 7200.5]})
    >>> b.rows("1.0")[0]
    (7200.5, 'tasks', 'list', 'rest', 3, 200, 1.5, '1.0')
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections import Counter
from datetime import datetime, timezone
from functools import partial
from itertools import repeat
from operator import attrgetter, itemgetter, methodcaller
from typing import Any

from .fold import _EMPTY, Folded, Row, fold
from .histogram import EDGES

_bucket = partial(bisect_right, EDGES)
_feature_name = attrgetter("feature.name")
_op_name = attrgetter("name")
_utc = partial(datetime.fromtimestamp, tz=timezone.utc)
_sqlite_text = methodcaller("isoformat", " ", "microseconds")
_naive = itemgetter(slice(0, 26))  # drop "+00:00": SQLite stores naive UTC text


class CallBuffer:
    __slots__ = ("ts", "ops", "interfaces", "users", "statuses", "ms")

    def __init__(self) -> None:
        self.ts = array("d")
        self.ops: list[Any] = []
        self.interfaces: list[str] = []
        self.users: list[int | None] = []
        self.statuses = array("H")
        self.ms = array("d")

    def __len__(self) -> int:
        return len(self.ops)

    def append(self, ts: float, op: Any, interface: str, user_id: int | None, status: int, ms: float) -> None:
        self.ts.append(ts)
        self.ops.append(op)
        self.interfaces.append(interface)
        self.users.append(user_id)
        self.statuses.append(status)
        self.ms.append(ms)

    def clear(self) -> None:
        self.__init__()  # type: ignore[misc]

    def rows(self, release: str) -> list[Row]:
        """The buffered calls as :data:`~hyperdeliver.usage.fold.Row` tuples."""
        return list(zip(self.ts, map(_feature_name, self.ops), map(_op_name, self.ops), self.interfaces, self.users,
                        self.statuses, self.ms, repeat(release)))

    def records(self, postgresql: bool, release: str) -> list[tuple[Any, ...]]:
        """Raw-event records in the driver's form: aware datetimes for COPY, naive UTC
        text (as SQLAlchemy stores a DateTime) for SQLite."""
        stamps: Any = map(_utc, self.ts)
        if not postgresql:
            stamps = map(_naive, map(_sqlite_text, stamps))
        return list(zip(stamps, map(_feature_name, self.ops), map(_op_name, self.ops), self.interfaces, self.users,
                        self.statuses, self.ms, repeat(release)))

    def fold(self, into: Folded | None = None) -> Folded:
        """Add the buffered calls into ``into`` (a new :class:`Folded` when None)."""
        out = into if into is not None else Folded()
        ts = self.ts
        if not ts:
            return out
        hour = int(min(ts) // 3600)
        if int(max(ts) // 3600) != hour:  # the batch crosses an hour: the per-call path
            return fold(self.rows(""), out)
        keys = list(zip(self.ops, self.interfaces))
        calls = Counter(keys)
        buckets = Counter(zip(keys, map(_bucket, self.ms)))
        if len(calls) == 1:
            sums = {keys[0]: sum(self.ms)}
        else:
            sums = dict.fromkeys(calls, 0.0)
            for k, m in zip(keys, self.ms):
                sums[k] += m
        errors: dict[Any, int] = {}
        if max(self.statuses) >= 500:
            errors = Counter(k for k, s in zip(keys, self.statuses) if s >= 500)
        hours = out.hours
        rows: dict[Any, list[Any]] = {}
        for k, n in calls.items():
            op, interface = k
            hk = (hour, op.feature.name, op.name, interface)
            acc = hours.get(hk)
            if acc is None:
                acc = hours[hk] = _EMPTY.copy()
            acc[0] += n
            acc[1] += errors.get(k, 0)
            acc[2] += sums[k]
            rows[k] = acc
        for (k, b), n in buckets.items():
            rows[k][3 + b] += n
        pairs = list(zip(map(_feature_name, self.ops), self.users))
        last = dict(zip(pairs, ts))
        day = hour // 24
        user_days = out.user_days
        for (feature, uid), n in Counter(pairs).items():
            if uid is None:
                continue
            uk = (day, feature, uid)
            seen = last[(feature, uid)]
            u = user_days.get(uk)
            if u is None:
                user_days[uk] = [n, seen]
            else:
                u[0] += n
                if seen > u[1]:
                    u[1] = seen
        return out
