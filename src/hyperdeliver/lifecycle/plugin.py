"""LifecyclePlugin: puts the lifecycle gate in front of every operation.

It is in :func:`hyperdeliver.assembly.default_plugins`; ``app.lifecycle`` is its
:class:`~hyperdeliver.lifecycle.store.LifecycleStore`.

Example:
    >>> from hyperdeliver import App, Feature, PUBLIC, Settings
    >>> f = Feature("reports", owner="ada@example.com", lifecycle="removed")
    >>> @f.query("GET /reports", roles=PUBLIC)
    ... async def reports(ctx) -> str:
    ...     return "r"
    >>> app = App("demo", features=[f], settings=Settings(env="test", database_url="sqlite://"))
    >>> app.lifecycle.rules["reports"].lifecycle
    'removed'
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ..plugins import Plugin
from .gate import LifecycleGate
from .store import LifecycleStore

if TYPE_CHECKING:
    from ..app import App

log = logging.getLogger("hyperdeliver.lifecycle")


class LifecyclePlugin(Plugin):
    """Loads lifecycles and flags at start-up, refreshes them, and gates every call."""

    name = "lifecycle"

    def setup(self, app: App) -> None:
        self.store = LifecycleStore(app)
        app.lifecycle = self.store
        app.controller.gates.append(LifecycleGate(self.store))

    async def startup(self, app: App) -> None:
        try:
            await self.store.load()
        except Exception as exc:  # tables not migrated yet: the declarations still apply
            log.warning("lifecycle states not loaded (%s: %s); using the declarations", type(exc).__name__, exc)
        self.store.start(getattr(app.settings, "lifecycle_refresh_interval", 5.0))

    async def shutdown(self, app: App) -> None:
        await self.store.stop()
