"""Plugins: adapters and subsystems that receive every registered operation.

A plugin is any object with some of these methods, all optional:

- ``setup(app)``: called once when the app is built, before operations are received
- ``receive_operation(op)``: called for every operation (REST routes, GraphQL fields, OpenAPI)
- ``async startup(app)`` / ``async shutdown(app)``: run by the ASGI lifespan and the CLI
"""

from __future__ import annotations

from typing import Any, Protocol


class Plugin(Protocol):
    name: str


def required_plugins() -> list[Any]:
    """The plugins every app has, set up first whatever ``plugins=`` says: REST, which
    serves the operations and on which the other plugins mount their apps."""
    from .rest.plugin import RestPlugin

    return [RestPlugin()]


def default_plugins() -> list[Any]:
    """The plugins every app gets unless it passes ``plugins=``."""
    from .rest.openapi import OpenAPIPlugin

    plugins: list[Any] = [OpenAPIPlugin()]
    from .graphql import GraphQLPlugin

    plugins.append(GraphQLPlugin())
    from .jobs import JobsPlugin

    plugins.append(JobsPlugin())
    from .lifecycle import LifecyclePlugin

    plugins.append(LifecyclePlugin())
    from .dashboard import DashboardPlugin

    plugins.append(DashboardPlugin())
    from .ops import OpsPlugin
    from .usage import UsagePlugin

    plugins.append(UsagePlugin())
    plugins.append(OpsPlugin())
    return plugins
