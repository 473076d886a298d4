"""The lifecycle gate: step 3 of the front controller, for every adapter.

- a removed feature: 410 Gone (with its ``Link`` when it has one)
- a flag that is off for this caller: 404 Not Found (the feature does not exist for them)
- a deprecated feature: ``Deprecation``, ``Sunset`` and ``Link`` response headers

Background jobs (``op.kind == "task"``) pass the flag check (they have no user: the
request that enqueued them passed it) but not removal: a removed feature's job fails
with 410 and ends dead after its retries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import Gone, NotFound
from .states import DEPRECATED, REMOVED, link_header

if TYPE_CHECKING:
    from ..context import Context
    from ..operations import Invocable
    from .store import LifecycleStore


class LifecycleGate:
    """A :data:`~hyperdeliver.controller.Gate` reading the store's in-memory snapshot."""

    __slots__ = ("store",)

    def __init__(self, store: LifecycleStore) -> None:
        self.store = store

    def __call__(self, op: Invocable, ctx: Context) -> None:
        if not self.store.started:  # a process that skipped the app's start-up
            self.store.start_late()
        state = self.store.rules.get(op.feature.name)
        if state is None:  # the common case: active, no flag
            return
        if state.lifecycle == REMOVED:
            link = link_header(state.link)
            headers = {"Link": link} if link is not None else None
            raise Gone(f"the {state.feature!r} feature was removed", headers=headers)
        flag = state.flag
        if flag is not None and op.kind != "task":
            p = ctx.principal
            if not flag.allows(p.user_id, p.effective_roles, state.feature):
                raise NotFound(f"no operation {op.qualname}")
        if state.lifecycle == DEPRECATED:
            ctx.add_headers(state.cached_headers)
