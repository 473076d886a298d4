"""RestPlugin: the REST adapter as a plugin, like GraphQL's.

It receives every operation (a route each) and is the App's HTTP entry: the other
plugins' apps (GraphQL, the dashboard, ops, the docs) are mounted on it
(``app.rest.mount(prefix, asgi)``). Every app has it, whatever ``plugins=`` says
(:func:`hyperdeliver.assembly.required_plugins`).

Example:
    >>> from hyperdeliver import App, Settings
    >>> app = App("demo", settings=Settings(env="test", database_url="sqlite://"), plugins=[])
    >>> [p.name for p in app.plugins], "/auth/login" in app.rest.static_endpoints
    (['rest'], True)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..plugins import Plugin
from .asgi import RestAdapter

if TYPE_CHECKING:
    from ..app import App
    from ..operations import Operation


class RestPlugin(Plugin):
    """Serves every operation at its declared method and path (see :class:`RestAdapter`)."""

    name = "rest"

    def setup(self, app: App) -> None:
        self.adapter = app.rest = RestAdapter(app)

    def receive_operation(self, op: Operation) -> None:
        self.adapter.receive_operation(op)
