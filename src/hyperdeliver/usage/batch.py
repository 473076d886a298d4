"""Raw usage events stored in batches: one ``hd_usage_batches`` row per flush.

Writing one database row per call cost 2-10 µs per call (the driver binds eight
parameters, the database inserts a row and an index entry), several times what the
call itself costs the front controller. A batch holds the calls of one flush instead:

- ``keys``: the distinct ``[feature, operation, interface]`` triples of the batch, once;
- ``rows``: one ``[epoch seconds, key index, user id, status, duration ms]`` array per
  call, in the order they were recorded;
- ``first_ts``/``last_ts``, ``events`` (how many) and ``release``.

Both are JSON encoded by orjson in C, about 0.15 µs per call, and the view
``hd_usage_events`` unnests them back into one row per call for SQL readers
(``SELECT feature, count(*) FROM hd_usage_events GROUP BY 1`` works on either
database). Retention deletes whole batches by ``last_ts``.

Example:
    >>> b = encode([7200.5, 7201.0], [0, 1], [("tasks", "list", "rest"), ("tasks", "get", "graphql")],
    ...            [3, None], [200, 503], [1.5, 2.0], "1.0")
    >>> b.events, b.first_ts, b.last_ts, b.keys
    (2, 7200.5, 7201.0, '[["tasks","list","rest"],["tasks","get","graphql"]]')
    >>> decode(b.keys, b.rows, b.release)
    [(7200.5, 'tasks', 'list', 'rest', 3, 200, 1.5, '1.0'), (7201.0, 'tasks', 'get', 'graphql', None, 503, 2.0, '1.0')]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import repeat
from typing import Any, NamedTuple

import orjson

from .fold import Row, sqlite_text, utc


class Batch(NamedTuple):
    """One ``hd_usage_batches`` row (timestamps as epoch seconds)."""

    first_ts: float
    last_ts: float
    events: int
    release: str
    keys: str
    rows: str


def encode(
    ts: Sequence[float],
    key_index: Iterable[int],
    keys: Sequence[tuple[str, str, str]],
    users: Iterable[int | None],
    statuses: Iterable[int],
    ms: Iterable[float],
    release: str,
) -> Batch:
    """A batch from whole columns (``key_index[i]`` points into ``keys``)."""
    rows = orjson.dumps(list(zip(ts, key_index, users, statuses, ms)))
    return Batch(min(ts), max(ts), len(ts), release, orjson.dumps(keys).decode(), rows.decode())


def encode_rows(rows: Sequence[Row], size: int = 1000) -> list[Batch]:
    """:class:`~hyperdeliver.usage.fold.Row` tuples (bulk loads) as batches of at most
    ``size`` calls each, one release and one hour per batch, as the recorder's are
    (retention deletes whole batches)."""
    groups: dict[tuple[str, int], list[Row]] = {}
    for r in rows:
        groups.setdefault((r[7], int(r[0] // 3600)), []).append(r)
    out = []
    for (release, _), group in groups.items():
        for i in range(0, len(group), size):
            part = group[i:i + size]
            index: dict[tuple[str, str, str], int] = {}
            ks = [index.setdefault((r[1], r[2], r[3]), len(index)) for r in part]
            out.append(encode([r[0] for r in part], ks, list(index), [r[4] for r in part],
                              [r[5] for r in part], [r[6] for r in part], release))
    return out


def decode(keys: str | bytes, rows: str | bytes, release: str) -> list[Row]:
    """The calls of one batch as :class:`~hyperdeliver.usage.fold.Row` tuples."""
    triples = [tuple(k) for k in orjson.loads(keys)]
    return [(ts, *triples[k], uid, status, ms, rel)  # type: ignore[misc]
            for (ts, k, uid, status, ms), rel in zip(orjson.loads(rows), repeat(release))]


def records(batches: Iterable[Batch], postgresql: bool) -> list[tuple[Any, ...]]:
    """Batches in the driver's form: aware datetimes for COPY, naive UTC text for SQLite."""
    stamp = utc if postgresql else sqlite_text
    return [(stamp(b.first_ts), stamp(b.last_ts), b.events, b.release, b.keys, b.rows) for b in batches]
