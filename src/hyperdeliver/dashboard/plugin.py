"""DashboardPlugin: the product dashboard at ``/_hyper/`` (admin only).

It is in :func:`hyperdeliver.assembly.default_plugins`.

Example:
    >>> from hyperdeliver import App, Settings
    >>> app = App("demo", settings=Settings(env="test", database_url="sqlite://"))
    >>> any(prefix == "/_hyper" for prefix, _ in app.rest.sub_apps)
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..plugins import Mount, Plugin

if TYPE_CHECKING:
    from ..app import App
    from .views import Dashboard


class DashboardPlugin(Plugin):
    """Serves :class:`~hyperdeliver.dashboard.views.Dashboard` under its prefix."""

    name = "dashboard"

    def __init__(self, prefix: str = "/_hyper", role: str = "admin") -> None:
        self.prefix = prefix
        self.role = role

    def setup(self, app: App) -> None:
        from .views import Dashboard

        self.dashboard: Dashboard = Dashboard(app, self.prefix, self.role)

    def mounts(self) -> list[Mount]:
        return [(self.prefix, self.dashboard)]
