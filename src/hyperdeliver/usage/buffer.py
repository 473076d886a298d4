"""CallBuffer: the recorder's calls waiting for the next flush, held column-wise.

Durations and timestamps sit unboxed in ``array("d")``, statuses in ``array("H")``, and
the operation, interface and user as references to objects that already exist, so a
buffered call keeps no object of its own alive between flushes (the request path's
memory stays warm in the allocator's free lists). :meth:`rows` builds the flush's rows.

Example:
    >>> class Op: name = "list"; feature = type("F", (), {"name": "tasks"})
    >>> b = CallBuffer(); b.append(7200.0, Op(), "rest", 3, 200, 1.5); len(b)
    1
    >>> b.rows("1.0")
    [(7200.0, 'tasks', 'list', 'rest', 3, 200, 1.5, '1.0')]
"""

from __future__ import annotations

from array import array
from typing import Any

from .fold import Row


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
        return [
            (t, op.feature.name, op.name, i, u, s, m, release)
            for t, op, i, u, s, m in zip(self.ts, self.ops, self.interfaces, self.users, self.statuses, self.ms)
        ]
