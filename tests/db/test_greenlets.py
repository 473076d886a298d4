"""``run_sync``: SQLAlchemy's ``greenlet_spawn`` with its greenlets kept, so the second
hop to the synchronous side starts no new greenlet, and what a caller sees (the value,
the awaited coroutines, its context variables, errors, cancellation) is as before."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from greenlet import getcurrent
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.util import await_

from hyperdeliver.db.greenlets import run_sync

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="none")


async def answer(value: object, delay: float = 0.0) -> object:
    await asyncio.sleep(delay)
    return value


def twice(value: int) -> int:
    """Synchronous code awaiting twice through SQLAlchemy's ``await_``, as a driver call does."""
    return await_(answer(value)) + await_(answer(value))  # type: ignore[operator]


async def test_the_function_runs_with_its_awaits_and_returns_its_value() -> None:
    assert await run_sync(twice, 21) == 42


async def test_the_second_hop_runs_in_the_greenlet_of_the_first() -> None:
    first = await run_sync(getcurrent)
    second = await run_sync(getcurrent)
    assert first is second
    assert first is not getcurrent()
    assert not first.dead


async def test_hops_running_at_once_each_have_a_greenlet_and_see_their_own_task_context() -> None:
    def who() -> tuple[str, object]:
        await_(answer(None, 0.01))  # all four are suspended here at the same time
        return request_id.get(), getcurrent()

    async def call(name: str) -> tuple[str, object]:
        request_id.set(name)
        return await run_sync(who)

    seen = await asyncio.gather(*(call(f"r{i}") for i in range(4)))
    assert [name for name, _ in seen] == ["r0", "r1", "r2", "r3"]
    assert len({id(g) for _, g in seen}) == 4


async def test_an_error_reaches_the_caller_and_the_greenlet_serves_again() -> None:
    def fails() -> None:
        await_(answer(None))
        raise LookupError("no such row")

    with pytest.raises(LookupError, match="no such row"):
        await run_sync(fails)
    assert await run_sync(twice, 1) == 2


async def test_an_error_of_the_awaited_coroutine_is_raised_inside_the_function() -> None:
    async def refuses() -> None:
        raise PermissionError("read-only")

    def handles() -> str:
        try:
            await_(refuses())
        except PermissionError as exc:
            return f"handled: {exc}"
        return "not raised"

    assert await run_sync(handles) == "handled: read-only"


async def test_a_cancelled_caller_cancels_the_awaits_of_its_function() -> None:
    cleaned: list[str] = []

    def waits() -> None:
        try:
            await_(asyncio.sleep(30))
        finally:
            cleaned.append("finally ran")

    task = asyncio.create_task(run_sync(waits))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cleaned == ["finally ran"]
    assert await run_sync(twice, 2) == 4


async def test_await_outside_a_hop_is_still_refused() -> None:
    from sqlalchemy.exc import MissingGreenlet

    coro = answer(1)
    with pytest.raises(MissingGreenlet):
        await_(coro)


async def test_each_thread_keeps_its_own_greenlets() -> None:
    here = await run_sync(getcurrent)
    there: list[object] = []

    def other_thread() -> None:
        async def main() -> None:
            there.append(await run_sync(getcurrent))
            there.append(await run_sync(getcurrent))

        asyncio.run(main())

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join()
    assert there[0] is there[1]
    assert there[0] is not here


@pytest.mark.integration  # a real SQLite file
async def test_a_sqlalchemy_connection_runs_through_it(tmp_path: Path) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'hops.sqlite3'}")
    try:
        async with engine.connect() as conn:
            sync = conn.sync_connection
            assert sync is not None
            rows = await run_sync(lambda: sync.execute(sa.text("SELECT 1 + :n"), {"n": 41}).all())
            assert rows == [(42,)]
    finally:
        await engine.dispose()


async def test_an_idle_greenlet_keeps_nothing_of_its_last_call() -> None:
    import gc
    import weakref

    class Rows(list):  # type: ignore[type-arg]
        pass

    rows = Rows([1, 2, 3])
    seen = weakref.ref(rows)
    got = await run_sync(lambda: rows)
    assert got is rows
    del rows, got
    gc.collect()
    assert seen() is None
