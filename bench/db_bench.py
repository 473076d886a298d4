"""Database-backed endpoints side by side: hyperdeliver (the teamboard demo) beside
FastAPI + SQLAlchemy 2 async, Litestar + SQLAlchemy 2 async and Starlette + bare asyncpg
(the floor), on PostgreSQL and on SQLite (hyperdeliver and FastAPI + aiosqlite there).

    .venv/bin/pip install -r bench/requirements.txt      # the peers (fastapi, litestar, ...)
    .venv/bin/python bench/db_bench.py --quick            # 600 counted requests, 2 wrk rounds of 2 s (~20 min on a busy 2-core VM)
    .venv/bin/python bench/db_bench.py                    # 2,000 counted requests, 6 wrk rounds of 4 s (~45 min)
    .venv/bin/python bench/db_bench.py --skip-callgrind   # requests/s and p99 only (~8 min)
    .venv/bin/python bench/db_bench.py --databases postgresql --apps hyperdeliver,asyncpg --skip-wrk

The scenario (``bench/targets/db/``): one workspace of 100 projects of 200 tasks
(teamboard's schema, multi-tenant: roles held in a workspace, ``hd_memberships``); ``list``
is ``GET /projects/{id}/tasks?limit=20`` by a viewer of the workspace (20 tasks, 9 fields
each), ``create`` is ``POST /projects/{id}/tasks`` by a member of it (one task inserted and
returned), the project id turning over 1..100. Every contender serves one uvicorn worker
(uvloop, httptools, no access log), keeps a pool of ``--pool`` connections (no overflow),
and per request does the same work, with the same SQL statements:

- authenticates the Bearer token (cached 30 s: no statement once cached);
- reads the caller's roles in the project's workspace, one statement joining ``projects``
  and ``hd_memberships`` (the project's ``workspace_id`` against the membership's text
  ``scope_id``), and answers 404 when the caller holds no role there (or there is no such
  project), 403 when the role is below the one needed (viewer for list, member for create);
- list: one ``SELECT`` of the 20 tasks, returned as JSON; create: in one transaction the
  role statement, ``SELECT`` the project (teamboard's handler checks it), ``INSERT … RETURNING``
  the task, ``COMMIT``; the body validated (length and range limits) before any of it.

How each does it:

- hyperdeliver: the teamboard demo itself (``scope="workspace"`` on both operations): the
  front controller's scope check (``Lookup("project_id", Project.workspace_id)``, an outer
  join with the memberships; for the list on a connection of its own, apart from the
  handler's one read, which runs without BEGIN/COMMIT; for the create in the request's
  transaction), then the handlers (``ctx.rows`` for the list, Core statements built once).
- FastAPI + SQLAlchemy: a session dependency, an HTTPBearer dependency for the user, a
  role dependency running an ORM ``select(Membership.role).join(Project, …)`` in the
  request's session, ORM queries in the handlers (the list in the session's implicit
  transaction, rolled back on close), ``response_model`` from ORM objects.
- Litestar + SQLAlchemy: a guard for the login, the same ORM role query first thing in the
  handler in the request's session, ORM queries, pydantic models from ORM objects.
- Starlette + bare asyncpg (the floor): the role statement by hand (``SELECT m.role FROM
  projects p JOIN hd_memberships m ON m.scope = 'workspace' AND m.scope_id =
  p.workspace_id::text AND m.user_id = $1 WHERE p.id = $2``) on the connection the handler
  then uses (within the create's transaction), hand-written SQL, orjson out.

Before measuring, each server is asked both endpoints by its viewer/member (2xx, the list
of 20 tasks) and by an outsider holding the global role ``member`` but no role in the
workspace (404): any other answer stops the bench, as does any non-2xx answer while
measuring. PostgreSQL: ``--pg`` (a database ``hd_db_bench`` is made anew there).

Two measurements:

- instructions per request: each server under ``valgrind --tool=callgrind`` (every
  thread), counters zeroed after a warm-up, exactly ``--requests`` requests over 8
  keep-alive connections (``bench/usage_instructions.py``'s method); exact whatever
  the machine's load, the database server's work not included.
- requests/s and p99 latency: every server of a database up at once, ``wrk -t1`` at 8
  and at 32 connections going from one to the next, the order rotated each round
  (server pinned to CPU 1 and wrk to CPU 0 unless ``--no-pin``); each run must have no
  socket errors and no non-2xx answer. Ratios are the median of per-round ratios.

hyperdeliver's ratio to a peer is ``hyperdeliver / peer`` in requests/s and
``peer / hyperdeliver`` in instructions: above 1.0 is faster. Targets (issue 18): on
PostgreSQL ≥ 0.5 against the floor and ≥ 2.5 against FastAPI, for both endpoints, in
both measures; on SQLite ≥ 2.5 against FastAPI + aiosqlite.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import importlib.util
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TARGETS = HERE / "targets" / "db"
HOST = "127.0.0.1"
APPS = {
    "hyperdeliver": "hyper_app:app",
    "fastapi": "fastapi_app:app",
    "litestar": "litestar_app:app",
    "asyncpg": "starlette_asyncpg:app",
}
"""``asyncpg`` is Starlette + bare asyncpg, the floor (PostgreSQL only)."""
ON = {"postgresql": ["hyperdeliver", "fastapi", "litestar", "asyncpg"], "sqlite": ["hyperdeliver", "fastapi"]}
FLOOR, BASELINE = "asyncpg", "fastapi"
BODY = b'{"title":"a benchmark task","notes":"","priority":2}'
ENDPOINTS = {"list": ("GET", "/projects/{p}/tasks?limit=20", 200, "viewer"), "create": ("POST", "/projects/{p}/tasks", 201, "member")}
CONNECTIONS = 8


def _module(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def token(tokens: dict[str, str], app: str, endpoint: str) -> str:
    role = ENDPOINTS[endpoint][3]
    return tokens[f"hyper_{role}" if app == "hyperdeliver" else f"peer_{role}"]


def env_for(url: str, pool: int, usage: bool) -> dict[str, str]:
    return {"DB_BENCH_URL": url, "DB_BENCH_POOL": str(pool), "HYPER_DATABASE_URL": url,
            "HYPER_USAGE_ENABLED": "true" if usage else "false", "PYTHONPATH": str(TARGETS)}


# ------------------------------------------------------------------------- databases


def fresh_databases(names: list[str], pg: str, work: Path) -> dict[str, str]:
    urls = {}
    if "postgresql" in names:
        import asyncpg

        async def recreate() -> None:
            conn = await asyncpg.connect(pg)
            try:
                await conn.execute("DROP DATABASE IF EXISTS hd_db_bench WITH (FORCE)")
                await conn.execute("CREATE DATABASE hd_db_bench")
            finally:
                await conn.close()

        asyncio.run(recreate())
        urls["postgresql"] = "postgresql+asyncpg://" + pg.split("://", 1)[1].rsplit("/", 1)[0] + "/hd_db_bench"
    if "sqlite" in names:
        urls["sqlite"] = f"sqlite+aiosqlite:///{work / 'db_bench.sqlite3'}"
    return urls


# ----------------------------------------------------------------- one request, driven


class WrongAnswer(Exception):
    """A server answered a status other than the one expected: the bench stops (not a
    server still starting, which the probes wait for)."""


def drive(port: int, endpoint: str, requests: int, bearer: str, expect: int | None = None) -> None:
    """Exactly ``requests`` calls over ``CONNECTIONS`` keep-alive connections, the project
    id turning over 1..100; every answer the expected status (the endpoint's own unless
    ``expect``), or :class:`WrongAnswer`."""
    method, path, status, _ = ENDPOINTS[endpoint]
    expect = status if expect is None else expect
    headers = {"Authorization": f"Bearer {bearer}"}
    if method == "POST":
        headers["Content-Type"] = "application/json"
    failures: list[str] = []
    wrong: list[str] = []

    def one(offset: int, n: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=300)
        try:
            for i in range(n):
                conn.request(method, path.format(p=1 + (offset + i * CONNECTIONS) % 100), body=BODY if method == "POST" else None, headers=headers)
                r = conn.getresponse()
                data = r.read()
                if r.status != expect:
                    wrong.append(f"{method} {path} answered {r.status}, expected {expect}: {data[:300]!r}")
                    return
        except OSError as exc:
            failures.append(f"{endpoint}: {exc}")
        finally:
            conn.close()

    share = [requests // CONNECTIONS + (1 if i < requests % CONNECTIONS else 0) for i in range(CONNECTIONS)]
    threads = [threading.Thread(target=one, args=(i, n)) for i, n in enumerate(share)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if wrong:
        raise WrongAnswer(f"port {port}, {endpoint}: {wrong[0]}")
    if failures:
        raise SystemExit(f"run rejected: {failures[:3]}")


def check_answers(app: str, port: int, tokens: dict[str, str]) -> None:
    """Before measuring: the viewer lists 20 tasks, the member creates one (2xx), and the
    outsider (no role in the workspace) gets 404 from both; else :class:`WrongAnswer`."""
    drive(port, "list", 1, token(tokens, app, "list"))  # also waits for a server starting
    conn = http.client.HTTPConnection(HOST, port, timeout=60)
    try:
        conn.request("GET", "/projects/7/tasks?limit=20", headers={"Authorization": f"Bearer {token(tokens, app, 'list')}"})
        r = conn.getresponse()
        listed = json.loads(r.read())
    finally:
        conn.close()
    if r.status != 200 or not isinstance(listed, list) or len(listed) != 20 or any(t.get("project_id") != 7 for t in listed):
        raise WrongAnswer(f"{app}: the viewer's list of project 7 is not its 20 tasks: {r.status} {str(listed)[:300]}")
    drive(port, "create", 1, token(tokens, app, "create"))
    outsider = tokens["hyper_outsider" if app == "hyperdeliver" else "peer_outsider"]
    for endpoint in ENDPOINTS:
        drive(port, endpoint, 1, outsider, expect=404)


def count_instructions(app: str, url: str, tokens: dict[str, str], port: int, work: Path, requests: int, args: Any) -> dict[str, float]:
    counted = _module("usage_instructions")
    workloads = {ep: (lambda n, ep=ep: drive(port, ep, n, token(tokens, app, ep))) for ep in ENDPOINTS}
    env = env_for(url, args.pool, args.usage)
    return counted.count_served(APPS[app], TARGETS, env, port, work, f"{app}-{port}", args.cache_sim, requests,  # type: ignore[no-any-return]
                                lambda: check_answers(app, port, tokens), workloads)


# ----------------------------------------------------------------------------- wrk

WRK_JSON = re.compile(r"^WRK_JSON (\{.*\})$", re.M)
LUA = """local n = 0
local headers = {{}}
headers["Authorization"] = "Bearer {token}"
{content_type}
request = function()
  n = n + 1
  return wrk.format("{method}", string.format("{path}", n % 100 + 1), headers, {body})
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK_JSON {{"requests":%d,"duration_us":%d,"errors":%d,"status":%d,"p99":%d}}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status, latency:percentile(99)))
end
"""


def lua_for(endpoint: str, bearer: str, folder: Path, name: str) -> Path:
    method, path, _, _ = ENDPOINTS[endpoint]
    post = method == "POST"
    text = LUA.format(token=bearer, method=method, path=path.replace("{p}", "%d"),
                      content_type='headers["Content-Type"] = "application/json"' if post else "",
                      body=f"'{BODY.decode()}'" if post else "nil")
    out = folder / f"{name}-{endpoint}.lua"
    out.write_text(text)
    return out


class Server:
    def __init__(self, app: str, port: int, env: dict[str, str], cpu: str | None, log: Path) -> None:
        cmd = [sys.executable, "-m", "uvicorn", APPS[app], "--app-dir", str(TARGETS), "--host", HOST, "--port", str(port),
               "--workers", "1", "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"]
        self.cmd = (["taskset", "-c", cpu] if cpu else []) + cmd
        self.env, self.app, self.port, self.log = {**os.environ, **env}, app, port, log

    def __enter__(self) -> Server:
        self.out = open(self.log, "ab")
        self.proc = subprocess.Popen(self.cmd, env=self.env, stdout=self.out, stderr=subprocess.STDOUT, cwd=ROOT)
        return self

    def wait_ready(self, probe: Any) -> None:
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.app}: server exited ({self.proc.returncode}); see {self.log}")
            try:
                probe()
                return
            except (SystemExit, OSError):
                if time.monotonic() > deadline:
                    raise SystemExit(f"{self.app}: not ready in 60 s; see {self.log}") from None
                time.sleep(0.3)

    def __exit__(self, *exc: object) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.out.close()


def wrk(port: int, lua: Path, connections: int, duration: int, cpu: str | None) -> tuple[float, float]:
    """Requests per second and p99 latency (ms)."""
    cmd = (["taskset", "-c", cpu] if cpu else []) + [
        "wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "10s", "-s", str(lua), f"http://{HOST}:{port}/"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    m = WRK_JSON.search(res.stdout)
    if res.returncode != 0 or not m:
        raise SystemExit(f"wrk failed: {res.stderr}{res.stdout}")
    data = json.loads(m.group(1))
    if data["errors"] or data["status"]:
        raise SystemExit(f"wrk on port {port}: {data['errors']} socket errors, {data['status']} non-2xx; run rejected")
    return data["requests"] / (data["duration_us"] / 1e6), data["p99"] / 1000.0


def run_wrk(db: str, url: str, apps: list[str], tokens: dict[str, str], work: Path, args: Any) -> dict[tuple[str, str, int], list[tuple[float, float]]]:
    if not shutil.which("wrk"):
        raise SystemExit("bench/db_bench.py needs wrk (Debian: apt-get install wrk)")
    pin = not args.no_pin and shutil.which("taskset") and (os.cpu_count() or 1) >= 2
    server_cpu, client_cpu = ("1", "0") if pin else (None, None)
    conns = [int(c) for c in args.connections.split(",")]
    samples: dict[tuple[str, str, int], list[tuple[float, float]]] = {(a, ep, c): [] for a in apps for ep in ENDPOINTS for c in conns}
    with contextlib.ExitStack() as stack:
        ports = {}
        for i, app in enumerate(apps):
            ports[app] = 9490 + i + (10 if db == "sqlite" else 0)
            server = stack.enter_context(Server(app, ports[app], env_for(url, args.pool, args.usage), server_cpu, work / f"wrk-{db}-{app}.log"))
            server.wait_ready(lambda app=app: check_answers(app, ports[app], tokens))
        luas = {(a, ep): lua_for(ep, token(tokens, a, ep), work, f"{db}-{a}") for a in apps for ep in ENDPOINTS}
        for a in apps:
            for ep in ENDPOINTS:
                wrk(ports[a], luas[(a, ep)], max(conns), 1, client_cpu)  # warm-up: pools full, caches filled
        for rnd in range(args.rounds):
            order = apps[rnd % len(apps):] + apps[:rnd % len(apps)]
            for ep in ENDPOINTS:
                for c in conns:
                    for a in order:
                        samples[(a, ep, c)].append(wrk(ports[a], luas[(a, ep)], c, args.duration, client_cpu))
            print(f"  {db}: wrk round {rnd + 1}/{args.rounds} done", flush=True)
    return samples


# -------------------------------------------------------------------------- report


def report_instructions(db: str, apps: list[str], counts: dict[str, dict[str, float]], requests: int) -> list[str]:
    out = [f"\n### {db}: instructions per request (callgrind, {requests:,} requests, all server threads)\n",
           "| app | list | create | hyperdeliver vs app, list | create |", "|---|---:|---:|---:|---:|"]
    ours = counts["hyperdeliver"]
    for a in apps:
        c = counts[a]
        out.append(f"| {a} | {c['list'] / 1e6:.3f} M | {c['create'] / 1e6:.3f} M | {c['list'] / ours['list']:.2f}x | {c['create'] / ours['create']:.2f}x |")
    return out


def report_wrk(db: str, apps: list[str], samples: dict[tuple[str, str, int], list[tuple[float, float]]], rounds: int, conns: list[int]) -> list[str]:
    out = [f"\n### {db}: requests/s and p99 (wrk, median of {rounds} interleaved rounds)\n",
           "| app | " + " | ".join(f"{ep} c{c} req/s (p99 ms)" for ep in ENDPOINTS for c in conns) + " |",
           "|---|" + "---:|" * (len(ENDPOINTS) * len(conns))]
    for a in apps:
        cells = []
        for ep in ENDPOINTS:
            for c in conns:
                runs = samples[(a, ep, c)]
                cells.append(f"{statistics.median(r[0] for r in runs):,.0f} ({statistics.median(r[1] for r in runs):.1f})")
        out.append(f"| {a} | " + " | ".join(cells) + " |")
    out += ["", "| hyperdeliver / app, req/s | " + " | ".join(f"{ep} c{c}" for ep in ENDPOINTS for c in conns) + " |",
            "|---|" + "---:|" * (len(ENDPOINTS) * len(conns))]
    for a in apps:
        if a == "hyperdeliver":
            continue
        cells = []
        for ep in ENDPOINTS:
            for c in conns:
                ratios = [h[0] / p[0] for h, p in zip(samples[("hyperdeliver", ep, c)], samples[(a, ep, c)])]
                cells.append(f"{statistics.median(ratios):.2f}x ({min(ratios):.2f}..{max(ratios):.2f})")
        out.append(f"| {a} | " + " | ".join(cells) + " |")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="600 counted requests, 2 wrk rounds of 2 s")
    ap.add_argument("--databases", default="postgresql,sqlite")
    ap.add_argument("--apps", default=",".join(APPS), help="comma list of " + ", ".join(APPS) + " (hyperdeliver always)")
    ap.add_argument("--requests", type=int, help="requests counted under callgrind per endpoint (default 2,000; --quick 600)")
    ap.add_argument("--rounds", type=int, help="wrk rounds (default 6; --quick 2)")
    ap.add_argument("--duration", type=int, help="seconds per wrk run (default 4; --quick 2)")
    ap.add_argument("--connections", default="8,32")
    ap.add_argument("--pool", type=int, default=10, help="every contender's pool size")
    ap.add_argument("--usage", action="store_true", help="hyperdeliver records usage (off by default: no peer does)")
    ap.add_argument("--skip-callgrind", action="store_true")
    ap.add_argument("--skip-wrk", action="store_true")
    ap.add_argument("--cache-sim", action="store_true", help="count callgrind's cycle estimate instead of instructions")
    ap.add_argument("--no-pin", action="store_true")
    ap.add_argument("--pg", default=os.environ.get("HYPER_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres"))
    args = ap.parse_args()
    args.requests = args.requests or (600 if args.quick else 2000)
    args.rounds = args.rounds or (2 if args.quick else 6)
    args.duration = args.duration or (2 if args.quick else 4)
    if not args.skip_callgrind and not (shutil.which("valgrind") and shutil.which("callgrind_control")):
        raise SystemExit("bench/db_bench.py needs valgrind (Debian: apt-get install valgrind), or --skip-callgrind")
    wanted = ["hyperdeliver"] + [a for a in args.apps.split(",") if a and a != "hyperdeliver"]
    if unknown := [a for a in wanted if a not in APPS]:
        raise SystemExit(f"unknown apps {unknown}; choose from {', '.join(APPS)}")
    work = Path(tempfile.mkdtemp(prefix="hd-db-bench-"))
    dbs = [d for d in args.databases.split(",") if d]
    urls = fresh_databases(dbs, args.pg, work)
    sys.path.insert(0, str(TARGETS))
    from common import prepare

    lines = [f"bench/db_bench.py: pool {args.pool} (no overflow), usage recording {'on' if args.usage else 'off'}, work dir {work}"]
    for db in dbs:
        apps = [a for a in wanted if a in ON[db]]
        print(f"{db}: preparing {urls[db]}", flush=True)
        tokens = prepare(urls[db])
        if not args.skip_callgrind:
            counts = {}
            for i, app in enumerate(apps):
                counts[app] = count_instructions(app, urls[db], tokens, 9470 + i + (10 if db == "sqlite" else 0), work, args.requests, args)
                print(f"  {db}: {app} counted: list {counts[app]['list'] / 1e6:.3f} M, create {counts[app]['create'] / 1e6:.3f} M", flush=True)
            lines += report_instructions(db, apps, counts, args.requests)
        if not args.skip_wrk:
            samples = run_wrk(db, urls[db], apps, tokens, work, args)
            lines += report_wrk(db, apps, samples, args.rounds, [int(c) for c in args.connections.split(",")])
        print("\n".join(lines), flush=True)  # each database's tables as soon as they are measured
        lines = []
    lines.append("\n(hyperdeliver vs app: the app's instructions over hyperdeliver's; hyperdeliver / app: requests/s; above 1.0 is faster)")
    lines.append(f"targets on PostgreSQL: >= 0.5x vs {FLOOR} (the floor), >= 2.5x vs {BASELINE}; on SQLite >= 2.5x vs {BASELINE} + aiosqlite")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except WrongAnswer as exc:
        raise SystemExit(f"bench/db_bench.py: run rejected, a server answered wrongly: {exc}") from None
