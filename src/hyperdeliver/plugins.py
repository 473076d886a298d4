"""Plugins: the adapters and subsystems an app is built from.

A plugin implements :class:`Plugin`. The app calls, in this order:

1. ``setup(app)``, once while the app is built, plugin by plugin in the order given;
2. ``receive_operation(op)`` for every operation (REST routes, GraphQL fields, OpenAPI);
3. ``mounts()``: the ASGI apps it serves under a path prefix (``/graphql``, ``/_hyper``);
4. ``await startup(app)`` when the app starts (an ASGI lifespan, the CLI, a test client),
   and ``await shutdown(app)`` in the reverse order when it stops.

Every app has the REST plugin (it serves the operations, and the others mount on it);
the rest are :func:`hyperdeliver.assembly.default_plugins` unless ``App(plugins=...)``
says otherwise.

Subclass :class:`Plugin` and override what you need: the other hooks do nothing. A
plugin finds another by type, ``app.plugin(GraphQLPlugin)``; what plugins provide the
rest of the framework is typed on the app (``app.jobs``, ``app.usage``,
``app.lifecycle``).

Example:
    >>> from hyperdeliver import App, Plugin, Settings
    >>> class Census(Plugin):
    ...     name = "census"
    ...     def __init__(self) -> None:
    ...         self.seen: list[str] = []
    ...     def receive_operation(self, op) -> None:
    ...         self.seen.append(op.qualname)
    >>> app = App("demo", settings=Settings(env="test", database_url="sqlite://"), plugins=[Census()])
    >>> "auth.login" in app.plugin(Census).seen
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from .types import ASGIApp

if TYPE_CHECKING:
    from .app import App
    from .operations import Operation

Mount = tuple[str, ASGIApp]
"""``(prefix, asgi_app)``: the app answers every path at or under ``prefix``."""

HOOKS = ("setup", "receive_operation", "mounts", "startup", "shutdown")
"""What the app calls on every plugin."""


class Plugin(Protocol):
    """What the app calls on a plugin. Subclass it: every hook does nothing until overridden.

    Attributes:
        name: a short name, unique in the app (``"graphql"``), shown in its messages.
    """

    name: str

    def setup(self, app: App) -> None:
        """Called once while the app is built, before any operation is received."""
        return None

    def receive_operation(self, op: Operation) -> None:
        """Called for every operation of the app, after every plugin's :meth:`setup`."""
        return None

    def mounts(self) -> Sequence[Mount]:
        """The ASGI apps this plugin serves under a path prefix, read once after
        :meth:`setup`; a path no operation and no longer prefix claims goes to them."""
        return ()

    async def startup(self, app: App) -> None:
        """Called when the app starts, plugin by plugin in order."""
        return None

    async def shutdown(self, app: App) -> None:
        """Called when the app stops, in the reverse order."""
        return None


def check_plugin(plugin: Plugin) -> None:
    """A TypeError naming the hooks ``plugin`` lacks: an object that does not subclass
    :class:`Plugin` must have them all (mypy says so; this says so at run time too)."""
    missing = [h for h in ("name", *HOOKS) if not hasattr(plugin, h)]
    if missing:
        raise TypeError(
            f"{plugin!r} is not a plugin: it lacks {', '.join(missing)} (subclass hyperdeliver.Plugin and set name)"
        )
