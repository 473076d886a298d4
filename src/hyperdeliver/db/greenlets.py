"""``run_sync``: SQLAlchemy's ``greenlet_spawn``, with the greenlets kept for the next call.

SQLAlchemy runs its synchronous engine code (a ``Connection.execute``, a commit) from
async code by starting it in a new greenlet, which hands each driver coroutine it meets
(``await_``) back to the event loop. On Python 3.11 every new greenlet gets a frame
stack of its own, mapped from the kernel when it starts and unmapped when it ends: two
system calls and a page fault per hop, about 10 µs on a small virtual machine, against
about 2 µs for all the rest of the hop. A mutation's Core statements make four hops
(the scope check, two statements, the commit) and a query's two.

:func:`run_sync` does what ``greenlet_spawn`` does, with the same protocol (the greenlet
is one SQLAlchemy's ``await_`` recognizes), but a greenlet that has finished its
function waits for the next one instead of ending: each thread keeps its idle ones. An
exception raised by the function, or thrown into it while it awaits (a cancellation),
reaches the caller exactly as it would through ``greenlet_spawn``.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from greenlet import GreenletExit, getcurrent, greenlet

T = TypeVar("T")

IDLE_MAX = 64
"""Idle greenlets a thread keeps at most (one per call running a statement at the same time)."""


class _Done:
    """What a runner hands back when its function has returned or raised."""

    __slots__ = ("value", "error")

    def __init__(self, value: Any, error: BaseException | None) -> None:
        self.value = value
        self.error = error


class _Runner(greenlet):  # type: ignore[misc]  # greenlet's class is untyped
    """A greenlet that runs one function per switch, for ever (until thrown GreenletExit)."""

    __sqlalchemy_greenlet_provider__ = True
    """What SQLAlchemy's ``await_`` checks: it may hand its coroutine to this greenlet's parent."""

    def __init__(self) -> None:
        super().__init__(self._serve)

    def _serve(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        while True:
            try:
                done = _Done(fn(*args), None)
            except GreenletExit:  # the runner itself collected mid-call: it ends, as a spawned one would
                raise
            except BaseException as exc:  # the caller's to re-raise, as greenlet_spawn would
                done = _Done(None, exc)
            fn = args = None  # type: ignore[assignment]  # nothing of the last call kept while idle
            fn, args = self.parent.switch(done)  # GreenletExit here (a runner collected) ends the loop


_local = threading.local()


def _idle() -> list[_Runner]:
    try:
        return _local.idle  # type: ignore[no-any-return]
    except AttributeError:
        _local.idle = []
        return _local.idle  # type: ignore[no-any-return]


async def run_sync(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` on SQLAlchemy's synchronous side, its ``await_`` calls awaited here:
    ``await run_sync(conn.execute, statement)``, as ``greenlet_spawn`` would."""
    idle = _idle()
    runner = idle.pop() if idle else _Runner()
    driver = getcurrent()
    runner.parent = driver
    runner.gr_context = driver.gr_context  # the calling task's context variables
    result = runner.switch(fn, args)
    while type(result) is not _Done:
        try:
            value = await result
        except BaseException:
            result = runner.throw(*sys.exc_info())
        else:
            result = runner.switch(value)
    if len(idle) < IDLE_MAX:
        idle.append(runner)
    value, error = result.value, result.error
    result.value = result.error = None  # the idle runner's frame still holds ``result``: not the rows
    if error is not None:
        raise error
    return value  # type: ignore[no-any-return]
