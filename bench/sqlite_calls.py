"""SQLite calls through hyperdeliver's engine: inline on the loop vs on aiosqlite's thread.

    .venv/bin/python bench/sqlite_calls.py                 # 5 rounds of 2,000 calls per case
    .venv/bin/python bench/sqlite_calls.py --rounds 9 --calls 5000

One process, uvloop, one SQLite file (WAL) with 20 users. Two ``Database`` objects on
that file, one with ``sqlite_inline=True`` (the default) and one with
``sqlite_inline=False`` (every call on aiosqlite's thread, as before); the cases
alternate within each round. Per case: process CPU µs per call (all threads), median
of the rounds, and thread/inline as a ratio (above 1.0: inline is cheaper).

- ``select 1``: a pooled connection, one statement, returned to the pool;
- ``orm read``: a session reading 20 ``User`` rows, committed (a typical GET);
- ``insert``: a session adding one row and committing (a typical POST).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]  # bench/queue.py shadows queue


async def main(rounds: int, calls: int) -> None:
    from sqlalchemy import select, text

    from hyperdeliver import Settings
    from hyperdeliver.auth.models import User
    from hyperdeliver.db.database import Database

    sys.path.insert(0, str(HERE / "targets"))
    import usage_app

    work = Path(tempfile.mkdtemp(prefix="hd-sqlite-calls-"))
    url = f"sqlite+aiosqlite:///{work / 'calls.sqlite3'}"
    await asyncio.to_thread(usage_app.prepare, url)
    dbs = {"inline": Database(url), "thread": Database(url, sqlite_inline=False)}
    assert Settings().sqlite_inline, "the default is inline"

    def cases(db: Database) -> dict[str, Callable[[], Awaitable[None]]]:
        async def select_1() -> None:
            async with db.engine.connect() as conn:
                (await conn.execute(text("SELECT 1"))).all()

        async def orm_read() -> None:
            async with db.session() as s:
                (await s.execute(select(User).order_by(User.id).limit(20))).scalars().all()
                await s.commit()

        async def insert() -> None:
            async with db.session() as s:
                await s.execute(text("INSERT INTO bench_rows (v) VALUES ('x')"))
                await s.commit()

        return {"select 1": select_1, "orm read": orm_read, "insert": insert}

    async with dbs["inline"].engine.begin() as conn:
        await conn.execute(text("CREATE TABLE bench_rows (id INTEGER PRIMARY KEY, v TEXT)"))
    results: dict[tuple[str, str], list[float]] = {}
    for r in range(rounds):
        for mode in ("inline", "thread") if r % 2 == 0 else ("thread", "inline"):
            for name, fn in cases(dbs[mode]).items():
                for _ in range(200):
                    await fn()
                t0 = time.process_time()
                for _ in range(calls):
                    await fn()
                results.setdefault((name, mode), []).append((time.process_time() - t0) / calls * 1e6)
        print(f"  round {r + 1}/{rounds} done", flush=True)
    for db in dbs.values():
        await db.dispose()

    print(f"\nSQLite calls, process CPU µs per call (all threads), median of {rounds} rounds of {calls:,}\n")
    print("| call | inline µs | thread µs | thread / inline |")
    print("|---|---:|---:|---:|")
    for name in ("select 1", "orm read", "insert"):
        inline, thread = statistics.median(results[(name, "inline")]), statistics.median(results[(name, "thread")])
        print(f"| {name} | {inline:.0f} | {thread:.0f} | {thread / inline:.2f}x |")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--calls", type=int, default=2000)
    args = ap.parse_args()
    import uvloop

    uvloop.install()
    asyncio.run(main(args.rounds, args.calls))
