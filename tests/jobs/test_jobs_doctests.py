"""Every cron expression in the docs parses, and means what the text beside it says."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from croniter import croniter

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FIELD = r"(?:[\d*/,\-?LW#]+|[A-Z]{3}(?:-[A-Z]{3})?)"
CRON = re.compile(rf"""["'`]((?:{FIELD} ){{4,5}}{FIELD})["'`]""")
START = datetime(2027, 1, 4, 3, 17, 42, tzinfo=timezone.utc)  # a Monday, at no round time


def expressions() -> list[tuple[str, int, str, str]]:
    """(file, line number, expression, what the line says of it) for each quoted cron
    expression: the text after it, up to the next expression on the line."""
    found = []
    for path in DOCS:
        for n, line in enumerate(path.read_text().splitlines(), 1):
            matches = list(CRON.finditer(line))
            for m, after in zip(matches, [*matches[1:], None]):
                found.append((path.name, n, m.group(1), line[m.end() : after.start() if after else len(line)]))
    return found


def fires(expr: str, count: int = 6) -> list[datetime]:
    it = croniter(expr, START)
    return [it.get_next(datetime) for _ in range(count)]


def check_meaning(expr: str, text: str) -> list[str]:
    """The statements about the schedule in ``text`` that ``expr`` contradicts (those it
    can read: every N seconds/minutes/hours, HH:MM UTC daily)."""
    times = fires(expr)
    gaps = {(b - a).total_seconds() for a, b in zip(times, times[1:])}
    wrong = []
    for amount, unit in re.findall(r"every (\d+ )?(second|minute|hour|day)s?\b", text):
        step = int(amount or 1) * {"second": 1, "minute": 60, "hour": 3600, "day": 86400}[unit]
        if gaps != {step}:
            wrong.append(f"'every {amount}{unit}' but it fires {sorted(gaps)} s apart")
    for hh, mm in re.findall(r"\b(\d\d):(\d\d) UTC\b", text):
        if {(t.hour, t.minute, t.second) for t in times} != {(int(hh), int(mm), 0)}:
            wrong.append(f"'{hh}:{mm} UTC' but it fires at {[t.strftime('%H:%M:%S') for t in times[:3]]}")
    if "daily" in text and gaps != {86400}:
        wrong.append(f"'daily' but it fires {sorted(gaps)} s apart")
    for day in re.findall(r"\b(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)s\b", text):
        if {t.strftime("%A") for t in times} != {day}:
            wrong.append(f"'{day}s' but it fires on {sorted({t.strftime('%A') for t in times})}")
    return wrong


def test_the_docs_have_cron_examples() -> None:
    found = {e for _f, _n, e, _t in expressions()}
    assert {"0 7 * * *", "* * * * * */10"} <= found, found


@pytest.mark.parametrize(("file", "line", "expr", "text"), expressions(), ids=lambda v: str(v)[:40])
def test_every_cron_expression_parses_and_means_what_the_text_says(file: str, line: int, expr: str, text: str) -> None:
    assert croniter.is_valid(expr), f"{file}:{line}: {expr!r} is not a cron expression"
    assert check_meaning(expr, text) == [], f"{file}:{line}: {expr!r}"


def test_the_meaning_check_catches_the_old_every_ten_seconds() -> None:
    assert check_meaning("*/10 * * * * *", 'a 6th field is seconds: "*/10 * * * * *" every 10 seconds') != []
    assert check_meaning("* * * * * */10", "every 10 seconds") == []
    assert check_meaning("0 7 * * *", "07:00 UTC daily") == [] and check_meaning("0 8 * * *", "07:00 UTC daily") != []
    assert check_meaning("30 2 * * 1", "Mondays at 02:30 UTC") == [] and check_meaning("30 2 * * 2", "Mondays at 02:30 UTC") != []


def test_the_framework_cron_the_usage_docs_name_runs_when_they_say() -> None:
    from hyperdeliver.usage.retention import SCHEDULE

    usage_doc = (ROOT / "docs" / "usage.md").read_text()
    m = re.search(r"`hd_usage\.purge_usage_events` \((\d\d:\d\d) UTC\)", usage_doc)
    assert m is not None
    assert check_meaning(SCHEDULE, f"{m.group(1)} UTC daily") == []
    assert timedelta(days=1) == fires(SCHEDULE)[1] - fires(SCHEDULE)[0]
