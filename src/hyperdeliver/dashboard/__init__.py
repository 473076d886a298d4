"""The value dashboard at ``/_hyper/``: overview, features, feature detail with charts and
release markers, lifecycle and flag editing, sunset candidates, jobs and cron history.

- :mod:`.plugin`: :class:`DashboardPlugin` mounts it (a default plugin)
- :mod:`.views`: the pages (Starlette routes, Jinja2 templates under ``templates/``)
- :mod:`.data`: what the pages show, from the usage queries, the lifecycle store, the job tables
"""

from __future__ import annotations

from .plugin import DashboardPlugin

__all__ = ["DashboardPlugin"]
