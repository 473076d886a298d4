"""The ``clock`` fixture: the whole framework reads the travelled time."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from hyperdeliver import App, clock as framework_clock, utcnow
from hyperdeliver.testing import TestClient, TestClock

SRC = Path(__file__).resolve().parents[2] / "src" / "hyperdeliver"


def test_test_clock_travels_freezes_and_ticks() -> None:
    c = TestClock("2027-01-04T06:59:00Z", frozen=True)
    assert c.now() == datetime(2027, 1, 4, 6, 59, tzinfo=timezone.utc) == c.now()
    c.travel(minutes=1)
    assert c.now().isoformat() == "2027-01-04T07:00:00+00:00" and c.time() == c.now().timestamp()
    c.travel(timedelta(days=-1), hours=1)
    assert c.now().isoformat() == "2027-01-03T08:00:00+00:00"
    c.travel_to(date(2027, 3, 1))
    assert c.now().isoformat() == "2027-03-01T00:00:00+00:00"
    c.travel_to(datetime(2027, 3, 2, 12))  # naive: UTC
    assert c.now().isoformat() == "2027-03-02T12:00:00+00:00"
    c.unfreeze()
    later = c.now()
    assert later >= datetime(2027, 3, 2, 12, tzinfo=timezone.utc) and c.now() >= later  # ticks again
    c.freeze()
    assert c.now() == c.now()


def test_the_fixture_installs_the_clock_the_framework_reads(clock: TestClock) -> None:
    clock.travel_to("2030-06-01T10:00:00Z")
    assert framework_clock.now().date() == date(2030, 6, 1) == utcnow().date()
    assert abs(framework_clock.time() - clock.now().timestamp()) < 1


def test_outside_the_fixture_the_framework_reads_real_time() -> None:
    assert abs((framework_clock.now() - datetime.now(timezone.utc)).total_seconds()) < 5


def test_no_module_reads_the_wall_clock_but_hyperdeliver_clock() -> None:
    """One time source: a module calling datetime.now() or time.time() itself would not
    travel with the clock fixture."""
    offenders = []
    pattern = re.compile(r"datetime\.now\(|datetime\.utcnow\(|\btime\.time\(\)|from time import time\b|date\.today\(")
    for path in SRC.rglob("*.py"):
        if path.name == "clock.py":
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#")[0]
            if pattern.search(code) and "timezone-aware" not in code:
                offenders.append(f"{path.relative_to(SRC)}:{n}: {line.strip()}")
    assert offenders == []


async def test_sessions_expire_in_travelled_time(client: TestClient, login_as, clock: TestClock) -> None:
    await login_as("viewer")
    clock.travel(days=13)
    assert (await client.get("/auth/me")).status_code == 200
    clock.travel(days=2)  # session_max_age is 14 days
    assert (await client.get("/auth/me")).status_code == 401


async def test_usage_is_recorded_on_the_travelled_day(app: App, client: TestClient, login_as, clock: TestClock, usage) -> None:
    clock.travel_to("2031-02-03T04:05:06Z")  # before logging in: a session lasts 14 days of travelled time
    viewer = await login_as("viewer")
    assert (await client.get("/workspaces")).status_code == 200
    [call] = await usage.calls("workspaces.list_workspaces")
    assert call.ts.date() == date(2031, 2, 3) and call.user_id == viewer.id
