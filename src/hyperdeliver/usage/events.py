"""UsageEvent: one recorded call (what the recorder buffers and the raw table holds).

Example:
    >>> from datetime import datetime, timezone
    >>> e = UsageEvent(datetime(2026, 1, 1, tzinfo=timezone.utc), "tasks", "list_tasks", "rest", 1, 200, 3.5, "1.0")
    >>> e.error
    False
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, NamedTuple


class UsageEvent(NamedTuple):
    ts: datetime
    feature: str
    operation: str
    interface: str
    user_id: int | None
    status: int
    duration_ms: float
    release: str = ""

    @property
    def error(self) -> bool:
        return self.status >= 500


def as_event(item: Any) -> UsageEvent:
    """A UsageEvent from a UsageEvent, a tuple or a dict (``ts`` or ``at``)."""
    if isinstance(item, UsageEvent):
        return item
    if isinstance(item, dict):
        ts: Any = item.get("ts", item.get("at"))  # passed on as given, unless a POSIX timestamp
        if isinstance(ts, (int, float)):
            ts = datetime.fromtimestamp(ts, timezone.utc)
        return UsageEvent(
            ts, item["feature"], item["operation"], item.get("interface", "rest"), item.get("user_id"),
            int(item.get("status", 200)), float(item.get("duration_ms", 0.0)), item.get("release", "") or "",
        )
    return UsageEvent(*item)
