"""The framework's clock: the one place hyperdeliver reads wall-clock time from.

Everything that stamps or compares a wall-clock time (sessions, job ``run_at``, cron
ticks, usage timestamps and days, sunset rules, lifecycle dates) calls
:func:`now` or :func:`time` of this module, looked up at call time
(``clock.now()``, never ``from hyperdeliver.clock import now``). A test swaps the
clock with :func:`install` (the testing kit's ``clock`` fixture does) and every part
of the framework sees the travelled time; nothing else is patched.

Durations are not wall-clock time: timeouts, throttles of the event loop and
latencies keep reading :func:`time.monotonic` / :func:`time.perf_counter`.

What the database server computes itself (PostgreSQL's ``now()`` in the job queue's
claim and retry statements) is the server's real time; the testing kit's
``run_jobs`` decides which jobs are due from this clock instead.

Example:
    >>> from datetime import datetime, timezone
    >>> from hyperdeliver import clock
    >>> class Fixed:
    ...     def now(self): return datetime(2027, 1, 4, 7, 0, tzinfo=timezone.utc)
    ...     def time(self): return self.now().timestamp()
    >>> restore = clock.install(Fixed())
    >>> clock.now().isoformat(), clock.time()
    ('2027-01-04T07:00:00+00:00', 1799046000.0)
    >>> restore()
    >>> clock.now().year >= 2026
    True
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Protocol


class Clock(Protocol):
    """What :func:`install` takes: the current time as an aware UTC datetime and as
    POSIX seconds, telling the same instant."""

    def now(self) -> datetime: ...

    def time(self) -> float: ...


def _system_now() -> datetime:
    return datetime.now(timezone.utc)


now: Callable[[], datetime] = _system_now
"""The current time, an aware UTC datetime."""

time: Callable[[], float] = _time.time
"""The current time in POSIX seconds (the usage recorder stamps calls with it)."""


def install(clock: Clock) -> Callable[[], None]:
    """Make ``clock`` the framework's clock; returns a function that puts back the one
    it replaced (tests call it at teardown)."""
    global now, time
    saved = (now, time)
    now, time = clock.now, clock.time

    def restore() -> None:
        global now, time
        now, time = saved

    return restore

