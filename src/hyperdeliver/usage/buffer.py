"""CallBuffer: the recorder's calls waiting for the next flush, held column-wise.

Durations and timestamps sit unboxed in ``array("d")``, statuses in ``array("H")``, and
the operation, interface and user as references to objects that already exist, so a
buffered call keeps no object of its own alive between flushes. A flush then works on
whole columns with C-level iteration (``Counter``, ``zip``, ``map``): each call gets the
index of its (operation, interface) pair once (:meth:`CallBuffer.key_index`), and both
the rollup increments (:meth:`CallBuffer.fold`) and the raw batch
(:meth:`CallBuffer.batch`) are built from those integers. That costs no Python bytecode
per call when the batch lies within one hour, which is every batch but the one that
crosses the hour.

Example:
    >>> class Op: name = "list"; feature = type("F", (), {"name": "tasks"})
    >>> b = CallBuffer(); op = Op()
    >>> for uid, status in ((3, 200), (3, 503), (None, 200)): b.append(7200.5, op, "rest", uid, status, 1.5)
    >>> ks, pairs = b.key_index()
    >>> f = b.fold(ks, pairs); f.hours[(2, "tasks", "list", "rest")][:3], f.user_days
    ([3, 1, 4.5], {(0, 'tasks', 3): [2, 7200.5]})
    >>> b.rows("1.0")[0]
    (7200.5, 'tasks', 'list', 'rest', 3, 200, 1.5, '1.0')
    >>> b.batch("1.0", ks, pairs).keys
    '[["tasks","list","rest"]]'
"""

from __future__ import annotations

import gc
from array import array
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from itertools import repeat
from operator import attrgetter
from typing import Any

from .batch import Batch, encode
from .fold import _EMPTY, Folded, Row, fold
from .histogram import EDGES

_bucket = partial(bisect_right, EDGES)
_feature_name = attrgetter("feature.name")
_op_name = attrgetter("name")
Pair = tuple[Any, str]
"""(operation, interface): what a rollup row is keyed by, before names are looked up."""


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector around synchronous work on a whole batch.

    Folding and encoding a batch allocate a few short-lived tuples per call, all freed by
    reference counting before the work ends. Counted as allocations they would still
    trigger collections, up to full ones that walk every object of the app (tens of ms
    in a large one, measured as several µs per recorded call). Never await inside.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


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

    def key_index(self) -> tuple[list[int], list[Pair]]:
        """Per call the index of its (operation, interface) pair, and the distinct pairs
        in first-seen order. Call it on a buffer no longer appended to."""
        calls = list(zip(self.ops, self.interfaces))
        index: dict[Pair, Any] = dict.fromkeys(calls)
        for i, pair in enumerate(index):
            index[pair] = i
        return list(map(index.__getitem__, calls)), list(index)

    def batch(self, release: str, ks: list[int], pairs: list[Pair]) -> Batch:
        """The buffered calls as one raw-event :class:`~hyperdeliver.usage.batch.Batch`."""
        keys = [(op.feature.name, op.name, interface) for op, interface in pairs]
        return encode(self.ts, ks, keys, self.users, self.statuses, self.ms, release)

    def fold(self, ks: list[int], pairs: list[Pair], into: Folded | None = None) -> Folded:
        """Add the buffered calls into ``into`` (a new :class:`Folded` when None)."""
        out = into if into is not None else Folded()
        ts = self.ts
        if not ts:
            return out
        hour = int(min(ts) // 3600)
        if int(max(ts) // 3600) != hour:  # the batch crosses an hour: the per-call path
            return fold(self.rows(""), out)
        ms = self.ms
        if len(pairs) == 1:
            groups: list[Any] = [ms]
        else:
            groups = [array("d") for _ in pairs]
            appends = [g.append for g in groups]
            for k, m in zip(ks, ms):
                appends[k](m)
        errors: dict[int, int] = {}
        if max(self.statuses) >= 500:
            errors = Counter(k for k, s in zip(ks, self.statuses) if s >= 500)
        hours = out.hours
        for k, (op, interface) in enumerate(pairs):
            hk = (hour, op.feature.name, op.name, interface)
            acc = hours.get(hk)
            if acc is None:
                acc = hours[hk] = _EMPTY.copy()
            durations = sorted(groups[k])
            acc[0] += len(durations)
            acc[1] += errors.get(k, 0)
            acc[2] += sum(durations)
            # bucket b holds EDGES[b-1] <= ms < EDGES[b]: counts from the sorted durations
            below = 0
            for b, edge in enumerate(EDGES):
                upto = bisect_left(durations, edge, below)
                acc[3 + b] += upto - below
                below = upto
            acc[3 + len(EDGES)] += len(durations) - below
        features = [op.feature.name for op, _ in pairs]
        users = list(zip(map(features.__getitem__, ks), self.users))
        last = dict(zip(users, ts))
        day = hour // 24
        user_days = out.user_days
        for (feature, uid), n in Counter(users).items():
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
