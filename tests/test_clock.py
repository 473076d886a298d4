"""hyperdeliver.clock: one swappable time source."""

from __future__ import annotations


def test_install_returns_a_restore_that_puts_the_previous_clock_back() -> None:
    from datetime import datetime, timezone

    from hyperdeliver import clock
    from hyperdeliver.testing import TestClock

    original = clock.now
    outer = clock.install(TestClock("2030-01-01T00:00:00Z", frozen=True))
    inner = clock.install(TestClock("2040-01-01T00:00:00Z", frozen=True))
    assert clock.now().year == 2040
    inner()
    assert clock.now() == datetime(2030, 1, 1, tzinfo=timezone.utc)
    outer()
    assert clock.now is original
