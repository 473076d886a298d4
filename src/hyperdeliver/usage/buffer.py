"""CallBuffer: the recorder's calls waiting for the next flush, grouped by operation.

Each operation's calls sit in a list of small tuples, one append per call on the request
path (the cheapest record Python has: a column-wise layout took five appends), made of
values the garbage collector stops tracking at its first pass. A flush transposes each
operation's list into a :class:`Calls` of columns in C (``zip(*calls)``). Because the
calls arrive grouped, a flush needs no per-call key: the
per-(operation, interface) stats (:meth:`CallBuffer.stats`, which the Prometheus request
metrics read too), the rollup increments (:meth:`CallBuffer.fold`) and the raw batch
(:meth:`CallBuffer.batch`) come from whole columns with C-level iteration (``sorted``,
``Counter``, ``zip``). Python loops over single calls only for an operation served
through several interfaces in one batch, and for the one batch an hour that crosses
the hour.

Example:
    >>> class Op: name = "list"; feature = type("F", (), {"name": "tasks"})
    >>> b = CallBuffer(); op = Op()
    >>> for uid, status in ((3, 200), (3, 503), (None, 200)): b.append(7200.5, op, "rest", uid, status, 1.5)
    >>> p = b.prepare("1.0")
    >>> p.folded.hours[(2, "tasks", "list", "rest")][:3], p.folded.user_days
    ([3, 1, 4.5], {(0, 'tasks', 3): [2, 7200.5]})
    >>> p.batch.keys, p.stats[0].statuses
    ('[["tasks","list","rest"]]', Counter({200: 2, 503: 1}))
    >>> b.rows("1.0")[0]
    (7200.5, 'tasks', 'list', 'rest', 3, 200, 1.5, '1.0')
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import chain, repeat
from typing import Any, NamedTuple

import orjson

from .batch import Batch
from .fold import _EMPTY, Folded, Row, UserDays, fold
from .histogram import EDGES, sorted_counts


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


Call = tuple[float, str, "int | None", int, float]
"""One buffered call of an operation: (epoch seconds, interface, user id, status, ms)."""


class Calls(NamedTuple):
    """One operation's calls of a batch, column-wise (transposed once, in C, at flush)."""

    ts: Sequence[float]
    interfaces: Sequence[str]
    users: Sequence[int | None]
    statuses: Sequence[int]
    ms: Sequence[float]

    @classmethod
    def of(cls, calls: list[Call]) -> Calls:
        return cls(*zip(*calls))

    def by_interface(self) -> list[tuple[str, Calls]]:
        """These calls split by interface (themselves when they share one, the usual case)."""
        first = self.interfaces[0]
        if self.interfaces.count(first) == len(self.interfaces):
            return [(first, self)]
        parts: dict[str, list[Call]] = {}
        for call in zip(*self):
            parts.setdefault(call[1], []).append(call)
        return [(interface, Calls.of(part)) for interface, part in parts.items()]


class KeyStats(NamedTuple):
    """The calls of one batch to one operation through one interface."""

    op: Any
    interface: str
    durations: list[float]
    """Milliseconds, ascending."""
    statuses: dict[int, int]
    """Calls per response status."""
    calls: Calls
    first: float
    """The earliest call's epoch seconds."""
    last: float
    """The latest call's epoch seconds."""


def counts(values: Sequence[Any]) -> dict[Any, int]:
    """Occurrences of each value, like ``Counter(values)``, with one C-level pass when all
    values are the same (one status, or anonymous callers, in most batches of an
    operation) instead of a hash per value.

    >>> counts((200, 200, 200)), counts((200, 503, 200))
    ({200: 3}, Counter({200: 2, 503: 1}))
    """
    if values.count(values[0]) == len(values):
        return {values[0]: len(values)}
    return Counter(values)


class Prepared(NamedTuple):
    """A batch ready to write: rollup increments, the raw batch, per-pair stats."""

    folded: Folded
    batch: Batch
    stats: list[KeyStats]


class CallBuffer:
    __slots__ = ("groups", "count")

    def __init__(self) -> None:
        self.groups: dict[Any, list[Call]] = {}
        """Per operation object, its calls."""
        self.count = 0

    def __len__(self) -> int:
        return self.count

    def append(self, ts: float, op: Any, interface: str, user_id: int | None, status: int, ms: float) -> None:
        """One call (the recorder's observer inlines this)."""
        self.count += 1
        calls = self.groups.get(op)
        if calls is None:
            calls = self.groups[op] = []
        calls.append((ts, interface, user_id, status, ms))

    def clear(self) -> None:
        self.__init__()  # type: ignore[misc]

    def rows(self, release: str) -> list[Row]:
        """The buffered calls as :data:`~hyperdeliver.usage.fold.Row` tuples, grouped by operation."""
        return [
            (ts, op.feature.name, op.name, interface, uid, status, ms, release)
            for op, calls in self.groups.items()
            for ts, interface, uid, status, ms in calls
        ]

    def prepare(self, release: str, user_days: UserDays | None = None) -> Prepared:
        """Summarize, fold and encode the buffered calls (with the cyclic GC paused).

        The per-user increments go straight into ``user_days`` when given (the
        recorder's, written every few minutes), instead of a dict to merge later."""
        with paused_gc():
            stats = self.stats()
            folded = Folded()
            if user_days is not None:
                folded.user_days = user_days
            return Prepared(self.fold(stats, folded), self.batch(release, stats), stats)

    def stats(self) -> list[KeyStats]:
        """Per (operation, interface): durations, sorted, and calls per status."""
        return [
            KeyStats(op, interface, sorted(part.ms), counts(part.statuses), part, min(part.ts), max(part.ts))
            for op, calls in self.groups.items()
            for interface, part in Calls.of(calls).by_interface()
        ]

    def batch(self, release: str, stats: list[KeyStats]) -> Batch:
        """The buffered calls as one raw-event :class:`~hyperdeliver.usage.batch.Batch`."""
        keys = [(s.op.feature.name, s.op.name, s.interface) for s in stats]
        rows = list(chain.from_iterable(
            zip(s.calls.ts, repeat(k), s.calls.users, s.calls.statuses, s.calls.ms) for k, s in enumerate(stats)
        ))
        first = min(s.first for s in stats)
        last = max(s.last for s in stats)
        return Batch(first, last, len(rows), release, orjson.dumps(keys).decode(), orjson.dumps(rows).decode())

    def fold(self, stats: list[KeyStats], into: Folded | None = None) -> Folded:
        """Add the buffered calls into ``into`` (a new :class:`Folded` when None)."""
        out = into if into is not None else Folded()
        if not stats:
            return out
        hour = int(min(s.first for s in stats) // 3600)
        if int(max(s.last for s in stats) // 3600) != hour:  # crosses an hour: the per-call path
            return fold(self.rows(""), out)
        hours = out.hours
        day = hour // 24
        user_days = out.user_days
        for s in stats:
            feature = s.op.feature.name
            hk = (hour, feature, s.op.name, s.interface)
            acc = hours.get(hk)
            if acc is None:
                acc = hours[hk] = _EMPTY.copy()
            acc[0] += len(s.durations)
            acc[1] += sum(n for status, n in s.statuses.items() if status >= 500)
            acc[2] += sum(s.durations)
            for b, n in enumerate(sorted_counts(s.durations, EDGES), 3):
                acc[b] += n
            users = s.calls.users
            per_user = counts(users)
            if None in per_user:
                if len(per_user) == 1:  # anonymous calls only: no per-user rollup
                    continue
                del per_user[None]
            last = dict(zip(users, s.calls.ts))
            for uid, n in per_user.items():
                uk = (day, feature, uid)
                seen = last[uid]
                u = user_days.get(uk)
                if u is None:
                    user_days[uk] = [n, seen]
                else:
                    u[0] += n
                    if seen > u[1]:
                        u[1] = seen
        return out
