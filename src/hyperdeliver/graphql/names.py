"""GraphQL's names for Python's: ``assignee_id`` is ``assigneeId``, an operation
``list_tasks`` the root field ``listTasks``.

Example:
    >>> camel("assignee_id"), camel("id")
    ('assigneeId', 'id')
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..operations import Operation


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def field_name(op: Operation) -> str:
    """The root field ``op`` is served as (``Query.<name>`` or ``Mutation.<name>``)."""
    return camel(op.name)
