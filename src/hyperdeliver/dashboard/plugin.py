"""DashboardPlugin: the product dashboard at ``/_hyper/`` (admin only).

It is in :func:`hyperdeliver.plugins.default_plugins`.

Example:
    >>> from hyperdeliver import App, Settings
    >>> app = App("demo", settings=Settings(env="test", database_url="sqlite://"))
    >>> any(prefix == "/_hyper" for prefix, _ in app.rest.mounts)
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..app import App


class DashboardPlugin:
    """Mounts :class:`~hyperdeliver.dashboard.views.Dashboard` on the REST adapter."""

    name = "dashboard"

    def __init__(self, prefix: str = "/_hyper", role: str = "admin") -> None:
        self.prefix = prefix
        self.role = role

    def setup(self, app: App) -> None:
        from .views import Dashboard

        self.dashboard = Dashboard(app, self.prefix, self.role)
        app.rest.mount(self.prefix, self.dashboard)
        app.state["dashboard"] = self.dashboard
