#!/usr/bin/env python
"""Three schedulers race on a per-second cron for two minutes: exactly one job per tick.

Starts three ``hyper scheduler`` processes (replicas) against one PostgreSQL database,
lets them run ``--seconds`` (default 120), stops them with SIGTERM and checks that the
ticks form an unbroken one-per-second series with exactly one job each, and that the
ticks each process won add up to that number.

    .venv/bin/python bench/cron_race.py                 # 2 minutes
    .venv/bin/python bench/cron_race.py --seconds 30

PostgreSQL: HYPER_BENCH_PG (default postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time

import asyncpg

from hyperdeliver import App, Context, Feature, Settings

ADMIN = os.environ.get("HYPER_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
DB = "bench_cron_race"
feature = Feature("racebench", owner="bench@example.com")


@feature.cron("* * * * * *")
async def every_second(ctx: Context) -> None:
    """A per-second cron."""


def db_url() -> str:
    return ADMIN.rsplit("/", 1)[0] + "/" + DB


def create_app(settings: Settings | None = None) -> App:
    return App("racebench", features=[feature], settings=settings or Settings(database_url=db_url(), access_log=False))


async def prepare() -> None:
    from hyperdeliver.db.migrate import upgrade_async

    conn = await asyncpg.connect(ADMIN)
    await conn.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
    await conn.execute(f'CREATE DATABASE "{DB}"')
    await conn.close()
    app = create_app()
    await upgrade_async(app)
    await app.database.dispose()


async def check(wins: list[int]) -> int:
    conn = await asyncpg.connect(db_url())
    try:
        ticks = await conn.fetch("SELECT tick_at, job_id FROM hd_cron_ticks ORDER BY tick_at")
        jobs = await conn.fetch("SELECT id FROM hd_jobs ORDER BY id")
    finally:
        await conn.close()
    times = [t["tick_at"] for t in ticks]
    gaps = sorted({(b - a).total_seconds() for a, b in zip(times, times[1:])})
    one_per_tick = sorted(t["job_id"] for t in ticks) == [j["id"] for j in jobs]
    print(f"ticks {len(ticks)} from {times[0]:%H:%M:%S} to {times[-1]:%H:%M:%S}; jobs {len(jobs)}; gaps between ticks {gaps} s")
    print(f"ticks won per scheduler process: {wins} (sum {sum(wins)})")
    ok = gaps == [1.0] and one_per_tick and sum(wins) == len(ticks) == len(jobs)
    print("OK: exactly one job per schedule time" if ok else "FAILED")
    return 0 if ok else 1


def main(seconds: float) -> int:
    asyncio.run(prepare())
    env = dict(os.environ, HYPER_APP="cron_race:create_app", HYPER_DATABASE_URL=db_url(), HYPER_ACCESS_LOG="false")
    env["PYTHONPATH"] = os.pathsep.join([os.path.dirname(os.path.abspath(__file__)), *filter(None, [env.get("PYTHONPATH")])])
    cmd = [sys.executable, "-c", "from hyperdeliver.cli.main import main; main()", "scheduler"]
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(3)]
    print(f"3 schedulers racing for {seconds:.0f} s ...", flush=True)
    time.sleep(seconds)
    wins = []
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        _, err = p.communicate(timeout=30)
        if p.returncode != 0:
            print(err.decode()[-2000:])
            return 1
        wins.append(err.count(b"racebench.every_second for "))
    return asyncio.run(check(wins))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=120)
    sys.exit(main(ap.parse_args().seconds))
