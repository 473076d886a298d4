"""TestClock: travel in time in a test, and the whole framework travels along.

The framework reads wall-clock time through :mod:`hyperdeliver.clock` only; the
``clock`` fixture installs a :class:`TestClock` there for one test. Cron ticks
(``run_cron``), due jobs (``run_jobs``), the days usage is recorded on, sunset rules,
session expiry and lifecycle dates all see the travelled time.

The clock keeps ticking from where it was put (as ``time-machine`` does) unless it is
frozen, so code that waits for a short while still sees time pass.

Example:
    >>> from datetime import datetime, timezone
    >>> from hyperdeliver import clock as framework_clock
    >>> c = TestClock(datetime(2027, 1, 4, 6, 59, 30, tzinfo=timezone.utc), frozen=True)
    >>> restore = framework_clock.install(c)
    >>> c.travel(seconds=30)
    >>> framework_clock.now().isoformat()
    '2027-01-04T07:00:00+00:00'
    >>> c.travel_to("2027-02-01T12:00:00Z")
    >>> framework_clock.now().date().isoformat()
    '2027-02-01'
    >>> restore()
"""

from __future__ import annotations

import time as _time
from datetime import date, datetime, timedelta, timezone


def _aware(when: datetime | date | str) -> datetime:
    """``when`` as an aware UTC datetime (a naive one is taken as UTC; a date as its midnight)."""
    if isinstance(when, str):
        when = datetime.fromisoformat(when.replace("Z", "+00:00"))
    if not isinstance(when, datetime):
        when = datetime(when.year, when.month, when.day)
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc)


class TestClock:
    """A clock set to an instant that then ticks with real time (or stands still when frozen).

    Args:
        start: the instant it starts at (default: now).
        frozen: whether it stands still until :meth:`unfreeze` / :meth:`travel` moves it.
    """

    __test__ = False  # not a pytest test class

    def __init__(self, start: datetime | date | str | None = None, *, frozen: bool = False) -> None:
        self._base = _aware(start) if start is not None else datetime.now(timezone.utc)
        self._since = _time.monotonic()
        self.frozen = frozen

    def __repr__(self) -> str:
        return f"<TestClock {self.now().isoformat()}{' frozen' if self.frozen else ''}>"

    def now(self) -> datetime:
        """The travelled time, aware UTC."""
        if self.frozen:
            return self._base
        return self._base + timedelta(seconds=_time.monotonic() - self._since)

    def time(self) -> float:
        """The travelled time in POSIX seconds."""
        return self.now().timestamp()

    def travel(self, delta: timedelta | None = None, **parts: float) -> None:
        """Move forward (or back, with a negative delta): ``travel(days=3)``,
        ``travel(timedelta(hours=-1))``."""
        step = (delta or timedelta()) + timedelta(**parts)
        self._set(self.now() + step)

    def travel_to(self, when: datetime | date | str) -> None:
        """Jump to an instant: a datetime (naive = UTC), a date (its midnight UTC) or an ISO string."""
        self._set(_aware(when))

    def freeze(self, when: datetime | date | str | None = None) -> None:
        """Stop the clock (at ``when``, or where it is)."""
        self._set(_aware(when) if when is not None else self.now())
        self.frozen = True

    def unfreeze(self) -> None:
        """Let the clock tick again from where it stands."""
        self._set(self.now())
        self.frozen = False

    def _set(self, when: datetime) -> None:
        self._base = when
        self._since = _time.monotonic()
