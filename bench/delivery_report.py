#!/usr/bin/env python
"""The delivery page's regressions: one query on the hourly rollup against the usage
dashboard's per-release deltas queried once per deployment (what the first version did).

Builds the teamboard demo with ``--days`` simulated days in a scratch SQLite file, adds
``--deploys`` succeeded deployments spread over them, then times ``regressions()`` both
ways (best of ``--runs``) and prints the ratio, with how many deployments each found
regressing. They differ on purpose: the per-release deltas always look a week ahead, so
with deploys hours apart they blame every deploy of that week for one release's errors;
``regressions()`` stops at the next deployment.

    .venv/bin/python -P bench/delivery_report.py                  # 300 deploys over 90 days
    .venv/bin/python -P bench/delivery_report.py --deploys 1000
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from hyperdeliver import Settings, clock
from hyperdeliver.db.migrate import upgrade_async
from hyperdeliver.delivery.dora import regressed
from hyperdeliver.delivery.records import Commit
from hyperdeliver.delivery.report import regressions
from hyperdeliver.delivery.store import deployments, record_deployment
from hyperdeliver.demo.simulate import simulate
from hyperdeliver.demo.teamboard.app import create_app
from hyperdeliver.demo.teamboard.seed import seed
from hyperdeliver.usage.queries import release_deltas


async def per_release(app, deps):  # type: ignore[no-untyped-def]
    out = {}
    for d in deps:
        if d.status == "succeeded" and not d.rollback:
            hit = regressed(await release_deltas(app, d.version))
            if hit:
                out[d.id] = hit
    return out


async def main(days: int, deploys: int, runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Settings(env="test", database_url=f"sqlite:///{Path(tmp) / 'b.sqlite3'}", access_log=False))
        await upgrade_async(app)
        await seed(app)
        await simulate(app, days)
        now = clock.now()
        step = timedelta(days=days) / (deploys + 1)
        for i in range(deploys):
            at = now - step * (i + 1)
            await record_deployment(app, version=f"b{i}", id=f"bench-{i}", at=at,
                                    commits=[Commit(f"{i:08x}", at - timedelta(hours=3), features=("tasks",))])
        deps = await deployments(app)
        timings = {}
        found = {}
        for name, fn in (("one query", regressions), ("per release", per_release)):
            best = float("inf")
            for _ in range(runs):
                t = time.perf_counter()
                found[name] = await fn(app, deps)
                best = min(best, time.perf_counter() - t)
            timings[name] = best
        await app.database.dispose()
    print(f"{len(deps)} deployments over {days} days, best of {runs}:")
    for name, seconds in timings.items():
        print(f"  {name:12} {seconds * 1000:9.1f} ms  ({len(found[name])} regressed)")
    print(f"  ratio: per release / one query = {timings['per release'] / timings['one query']:.1f}x")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--days", type=int, default=90)
    p.add_argument("--deploys", type=int, default=300)
    p.add_argument("--runs", type=int, default=3)
    a = p.parse_args()
    asyncio.run(main(a.days, a.deploys, a.runs))
