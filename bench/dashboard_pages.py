"""How long each dashboard page takes on the demo's 30 simulated days (in-process, no network).

Run: ``.venv/bin/python bench/dashboard_pages.py [DATABASE_URL]`` (default: a fresh SQLite
file; pass ``postgresql://postgres@127.0.0.1:5432/bench_dash`` for PostgreSQL — its
tables are dropped first). Prints the median of 10 requests per page, rendering included.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

from hyperdeliver import Settings  # noqa: E402
from hyperdeliver.db.migrate import upgrade_async  # noqa: E402
from hyperdeliver.demo.simulate import simulate  # noqa: E402
from hyperdeliver.testing import TestClient  # noqa: E402

PAGES = ["/_hyper/", "/_hyper/features", "/_hyper/features/comments", "/_hyper/sunset", "/_hyper/jobs"]


async def main(url: str) -> None:
    from hyperdeliver.demo.teamboard.app import create_app
    from hyperdeliver.demo.teamboard.seed import seed

    if url.startswith("postgres"):
        import asyncpg

        conn = await asyncpg.connect(url)
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        await conn.close()
    app = create_app(Settings(env="test", database_url=url, access_log=False, usage_enabled=False))
    await upgrade_async(app)
    await seed(app)
    t = time.perf_counter()
    summary = await simulate(app, 30)
    print(f"simulated {summary['events']:,} events in {time.perf_counter() - t:.2f} s ({app.database.dialect})")
    async with TestClient(app) as c:
        await c.login("admin@teamboard.dev", "admin-password")
        for path in PAGES:
            times = []
            for _ in range(10):
                t = time.perf_counter()
                r = await c.get(path)
                times.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200, (path, r.status_code)
            print(f"  {path:<28} {statistics.median(times):7.1f} ms")
    await app.database.dispose()


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else f"sqlite:///{Path(tempfile.mkdtemp()) / 'dash.sqlite3'}"
    asyncio.run(main(target))
