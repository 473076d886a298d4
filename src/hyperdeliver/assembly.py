"""Which plugins an app is assembled from: the one module that names the adapters.

``App`` imports no adapter (docs/architecture.md): it is handed REST, which every app
has, then :func:`default_plugins` or the ``plugins=`` it is given.
"""

from __future__ import annotations

from .plugins import Plugin


def required_plugins() -> list[Plugin]:
    """The plugins every app has, set up first whatever ``plugins=`` says: REST, which
    serves the operations and on which the other plugins mount their apps."""
    from .rest.plugin import RestPlugin

    return [RestPlugin()]


def default_plugins() -> list[Plugin]:
    """The plugins every app gets unless it passes ``plugins=``."""
    from .dashboard import DashboardPlugin
    from .graphql import GraphQLPlugin
    from .jobs import JobsPlugin
    from .lifecycle import LifecyclePlugin
    from .ops import OpsPlugin
    from .rest.openapi import OpenAPIPlugin
    from .usage import UsagePlugin

    # Usage before ops: the metrics read the usage recorder's counters.
    return [OpenAPIPlugin(), GraphQLPlugin(), JobsPlugin(), LifecyclePlugin(), DashboardPlugin(), UsagePlugin(), OpsPlugin()]
