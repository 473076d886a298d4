"""Usage: what every call did (recorded in batches), rolled up for the dashboard.

- :mod:`.recorder`: the observer + background flusher (bounded buffer, counters)
- :mod:`.store`: batch writes (COPY / executemany) and incremental rollups, retention purge
- :mod:`.queries`: the dashboard's query API (overview, feature table, detail, releases, funnel)
- :mod:`.sketch`, :mod:`.histogram`: distinct-user sketches and duration buckets
"""

from __future__ import annotations

from .events import UsageEvent
from .plugin import UsagePlugin
from .recorder import UsageRecorder

__all__ = ["UsageEvent", "UsagePlugin", "UsageRecorder"]
