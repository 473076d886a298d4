"""hyperdeliver beside raw ASGI, Starlette, FastAPI and Litestar on the peers' two endpoints.

    .venv/bin/pip install -r bench/requirements.txt      # the peers (fastapi, litestar, ...)
    .venv/bin/python bench/http_bench.py                      # in-process (3 x) + HTTP (8 rounds of 3 s)
    .venv/bin/python bench/http_bench.py --mode inproc --repeat 5
    .venv/bin/python bench/http_bench.py --mode http --rounds 12 --apps hyperdeliver,raw,litestar

The peers are the apps of ``shared/bench/peers`` (same contract, same body, same
Bearer token table); hyperdeliver's side is ``bench/targets/hyper_app.py``, a normal
feature: GET /hello (PUBLIC) and POST /items (roles={"editor"}) authenticated by a
real API token through AuthService, validated by Pydantic, run in a unit of work.

Two measurements, apps interleaved within each round, medians reported:

- ``inproc``: each app called as an ASGI callable on uvloop, no server, in a fresh
  process per app and round; process CPU microseconds per request (as the peers'
  ``inproc.py``).
- ``http``: one uvicorn worker per app (uvloop, httptools, no access log) pinned to
  CPU 1, all up at once, ``wrk -t1 -c64`` pinned to CPU 0 going from one to the next
  (order rotated each round); requests per second. Every run must have zero socket
  errors and zero non-2xx answers. The same runs also give the server's CPU time per
  request (user + system, every thread, from /proc): the servers are CPU-bound, so it
  is the throughput's inverse, without the time the VM's host takes the CPU away
  (steal), which moves requests per second by tens of per cent between runs.

It prints each app's figure and hyperdeliver's ratio to every peer (for req/s,
``hyperdeliver / peer``; for CPU, ``peer / hyperdeliver``: above 1.0 is faster): the
median of the per-round ratios, each round's runs being close in time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import importlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PEERS_DIR = Path(os.environ.get("HYPER_PEERS_DIR", ROOT.parent / "shared" / "bench" / "peers")).resolve()
TARGETS = HERE / "targets"
HOST = "127.0.0.1"
ITEMS_BODY = b'{"name":"widget","price":9.99,"tags":["a","b","c"]}'

APPS = {
    "hyperdeliver": ("hyper_app:app", TARGETS),
    "hyperdeliver-no-usage": ("hyper_app:app", TARGETS),
    "raw": ("apps.raw_asgi:app", PEERS_DIR),
    "starlette": ("apps.starlette_app:app", PEERS_DIR),
    "fastapi": ("apps.fastapi_app:app", PEERS_DIR),
    "litestar": ("apps.litestar_app:app", PEERS_DIR),
}
APP_ENV = {"hyperdeliver-no-usage": {"HYPER_USAGE_ENABLED": "false"}}
"""hyperdeliver records usage by default; this entry measures the same app without it."""
ENDPOINTS = {"hello": ("GET", "/hello", 200), "items": ("POST", "/items", 201)}


def token_for(name: str, hyper_token: str) -> str:
    return hyper_token if name.startswith("hyperdeliver") else "editor-token"


# ----------------------------------------------------------------------- in-process


def _scope(endpoint: str, token: str) -> dict:
    method, path, _ = ENDPOINTS[endpoint]
    headers = [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"inproc"), (b"accept", b"*/*")]
    if method == "POST":
        headers += [
            (b"content-type", b"application/json"),
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-length", str(len(ITEMS_BODY)).encode()),
        ]
    return {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"}, "http_version": "1.1",
        "server": (HOST, 8000), "client": (HOST, 50000), "scheme": "http", "method": method,
        "root_path": "", "path": path, "raw_path": path.encode(), "query_string": b"",
        "headers": headers, "state": {},
    }


async def _lifespan(app, messages: list[str]) -> asyncio.Task:
    inbox: asyncio.Queue = asyncio.Queue()
    done = asyncio.Event()
    await inbox.put({"type": "lifespan.startup"})

    async def send(msg: dict) -> None:
        messages.append(msg["type"])
        if msg["type"].startswith("lifespan.startup"):
            done.set()

    task = asyncio.get_running_loop().create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, inbox.get, send)
    )
    await asyncio.wait_for(done.wait(), 10)
    return task


async def _measure(app, endpoint: str, token: str, n: int) -> float:
    scope = _scope(endpoint, token)
    expect = ENDPOINTS[endpoint][2]
    body = ITEMS_BODY if ENDPOINTS[endpoint][0] == "POST" else b""
    status = 0

    async def send(msg: dict) -> None:
        nonlocal status
        if msg["type"] == "http.response.start":
            status = msg["status"]

    async def call() -> None:
        sent = False

        async def receive() -> dict:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return {"type": "http.disconnect"}

        await app(dict(scope), receive, send)
        if status != expect:
            raise RuntimeError(f"{endpoint}: status {status}, want {expect}")

    for _ in range(min(2000, n)):
        await call()
    c0 = time.process_time()
    for _ in range(n):
        await call()
    return (time.process_time() - c0) / n * 1e6


def inproc_child(name: str, n: int, token: str, db: str) -> None:
    import uvloop

    target, folder = APPS[name]
    sys.path.insert(0, str(folder))
    if name.startswith("hyperdeliver"):
        os.environ["HYPER_DATABASE_URL"] = db
        os.environ.update(APP_ENV.get(name, {}))
    module, _, attr = target.partition(":")
    app = getattr(importlib.import_module(module), attr)

    async def run() -> dict:
        await _lifespan(app, [])
        return {ep: await _measure(app, ep, token, n) for ep in ENDPOINTS}

    print(json.dumps(uvloop.run(run())))


def run_inproc(names: list[str], repeat: int, n: int, token: str, db: str) -> dict:
    samples: dict = {(a, ep): [] for a in names for ep in ENDPOINTS}
    for rnd in range(repeat):
        for name in names:
            res = subprocess.run(
                [sys.executable, __file__, "--child", name, "--n", str(n), "--token", token_for(name, token), "--db", db],
                capture_output=True, text=True, timeout=900,
            )
            if res.returncode != 0:
                raise SystemExit(f"{name} in-process run failed:\n{res.stderr[-3000:]}")
            for ep, us in json.loads(res.stdout.strip().splitlines()[-1]).items():
                samples[(name, ep)].append(us)
        print(f"  inproc round {rnd + 1}/{repeat} done", flush=True)
    return samples


# ----------------------------------------------------------------------------- HTTP

WRK_JSON = re.compile(r"^WRK_JSON (\{.*\})$", re.M)
LUA = """wrk.method = "{method}"
{body}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK_JSON {{"requests":%d,"duration_us":%d,"errors":%d,"status":%d,"p99":%d}}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(99)))
end
"""


def lua_for(endpoint: str, token: str, folder: Path) -> Path:
    method = ENDPOINTS[endpoint][0]
    body = ""
    if method == "POST":
        body = (
            f"wrk.body = '{ITEMS_BODY.decode()}'\n"
            'wrk.headers["Content-Type"] = "application/json"\n'
            f'wrk.headers["Authorization"] = "Bearer {token}"'
        )
    path = folder / f"{endpoint}-{abs(hash(token))}.lua"
    path.write_text(LUA.format(method=method, body=body))
    return path


SERVE_FLAGS = [] if os.environ.get("HYPER_BENCH_UVICORN_DEFAULTS") else ["--no-proxy-headers", "--no-server-header"]
"""uvicorn as ``hyper serve`` runs it (``hyperdeliver.cli.main.SERVER_OPTIONS``: no forwarded
headers believed, no ``Server`` header), for every app alike. ``HYPER_BENCH_UVICORN_DEFAULTS=1``
serves with uvicorn's defaults instead (the figures measured before these flags)."""


class Server:
    def __init__(self, name: str, port: int, db: str, cpu: str | None, log: Path) -> None:
        target, folder = APPS[name]
        cmd = [sys.executable, "-m", "uvicorn", target, "--app-dir", str(folder), "--host", HOST, "--port", str(port),
               "--workers", "1", "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning", *SERVE_FLAGS]
        self.cmd = (["taskset", "-c", cpu] if cpu else []) + cmd
        self.env = {**os.environ, "HYPER_DATABASE_URL": db, "PYTHONPATH": str(folder), **APP_ENV.get(name, {})}
        self.name, self.port, self.log = name, port, log

    def __enter__(self) -> Server:
        self.out = open(self.log, "ab")
        self.proc = subprocess.Popen(self.cmd, env=self.env, stdout=self.out, stderr=subprocess.STDOUT, cwd=ROOT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.name}: server exited ({self.proc.returncode}); see {self.log}")
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=1)
                conn.request("GET", "/hello")
                ok = conn.getresponse().status == 200
                conn.close()
                if ok:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        raise SystemExit(f"{self.name}: not ready in 30 s; see {self.log}")

    def __exit__(self, *exc: object) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.out.close()


def cpu_seconds(pid: int) -> float:
    """The process's CPU time so far (user + system, every thread)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(port: int, endpoint: str, lua: Path, duration: int, cpu: str | None, pid: int | None = None) -> tuple[float, float]:
    """Requests per second, and the server's CPU microseconds per request (0 without ``pid``)."""
    cpu0 = cpu_seconds(pid) if pid else 0.0
    cmd = (["taskset", "-c", cpu] if cpu else []) + [
        "wrk", "-t1", "-c64", f"-d{duration}s", "-s", str(lua), f"http://{HOST}:{port}{ENDPOINTS[endpoint][1]}"
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 30)
    m = WRK_JSON.search(res.stdout)
    if res.returncode != 0 or not m:
        raise SystemExit(f"wrk failed: {res.stderr}{res.stdout}")
    data = json.loads(m.group(1))
    if data["errors"] or data["status"]:
        raise SystemExit(f"wrk on port {port} {endpoint}: {data['errors']} socket errors, {data['status']} non-2xx; run rejected")
    used = cpu_seconds(pid) - cpu0 if pid else 0.0
    return data["requests"] / (data["duration_us"] / 1e6), used / data["requests"] * 1e6


def run_http(names: list[str], rounds: int, duration: int, token: str, db: str, work: Path, pin: bool) -> dict:
    """Every app's server up at once (idle ones sleep), wrk moved from one to the next in
    short runs, the order rotated each round: the machine's speed drifts (a shared VM's
    does by tens of percent within a minute), and runs close in time see the same drift,
    so the per-round ratios are compared, not runs minutes apart."""
    if not shutil.which("wrk"):
        raise SystemExit("bench/http_bench.py --mode http needs wrk (Debian: apt-get install wrk)")
    server_cpu, client_cpu = ("1", "0") if pin and shutil.which("taskset") and (os.cpu_count() or 1) >= 2 else (None, None)
    samples: dict = {(a, ep): [] for a in names for ep in ENDPOINTS}
    cpu: dict = {(a, ep): [] for a in names for ep in ENDPOINTS}
    with contextlib.ExitStack() as stack:
        ports, pids = {}, {}
        for i, name in enumerate(names):
            ports[name] = 8791 + i
            pids[name] = stack.enter_context(Server(name, ports[name], db, server_cpu, work / f"{name}.log")).proc.pid
        luas = {(name, ep): lua_for(ep, token_for(name, token), work) for name in names for ep in ENDPOINTS}
        for name in names:
            for ep in ENDPOINTS:
                wrk(ports[name], ep, luas[(name, ep)], 2, client_cpu)  # warm-up
        for rnd in range(rounds):
            order = names[rnd % len(names):] + names[:rnd % len(names)]
            for ep in ENDPOINTS:
                for name in order:
                    rate, us = wrk(ports[name], ep, luas[(name, ep)], duration, client_cpu, pids[name])
                    samples[(name, ep)].append(rate)
                    cpu[(name, ep)].append(us)
            print(f"  http round {rnd + 1}/{rounds} done", flush=True)
    return samples, cpu


# -------------------------------------------------------------------------- report


def report(title: str, unit: str, samples: dict, names: list[str], higher_is_better: bool) -> str:
    lines = [f"\n{title}", "", f"| app | hello {unit} | items {unit} | items min..max |", "|---|---:|---:|---:|"]
    med = {k: statistics.median(v) for k, v in samples.items()}
    for name in names:
        items = samples[(name, "items")]
        lines.append(f"| {name} | {med[(name, 'hello')]:,.1f} | {med[(name, 'items')]:,.1f} | {min(items):,.1f}..{max(items):,.1f} |")
    lines += ["", "| hyperdeliver vs | hello | items (authenticated POST) | items, per-round ratios min..max |", "|---|---:|---:|---:|"]
    for peer in names:
        if peer == "hyperdeliver":
            continue
        cells = []
        for ep in ENDPOINTS:
            # runs of one round are close in time: compare them pairwise, then take the median
            pairs = [(o / t if higher_is_better else t / o) for o, t in zip(samples[("hyperdeliver", ep)], samples[(peer, ep)])]
            cells.append(pairs)
        lines.append(f"| {peer} | {statistics.median(cells[0]):.2f}x | {statistics.median(cells[1]):.2f}x | {min(cells[1]):.2f}..{max(cells[1]):.2f} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=["inproc", "http", "both"], default="both")
    ap.add_argument("--apps", default=",".join(APPS), help="comma list; hyperdeliver is always included")
    ap.add_argument("--repeat", type=int, default=3, help="in-process rounds (a fresh process per app each)")
    ap.add_argument("--n", type=int, default=10000, help="timed in-process calls per endpoint")
    ap.add_argument("--rounds", type=int, default=8, help="HTTP rounds (each app and endpoint once per round)")
    ap.add_argument("--duration", type=int, default=3, help="seconds per wrk run")
    ap.add_argument("--no-pin", action="store_true", help="do not pin server and wrk to CPUs")
    ap.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite",
                    help="hyperdeliver's database (its usage events go there); postgresql: hd_http_bench on 127.0.0.1:5432")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--token", help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        inproc_child(args.child, args.n, args.token, args.db)
        return 0
    if not (PEERS_DIR / "apps" / "raw_asgi.py").exists():
        raise SystemExit(f"the peer apps are not at {PEERS_DIR} (set HYPER_PEERS_DIR)")
    names = ["hyperdeliver"] + [a for a in args.apps.split(",") if a and a != "hyperdeliver"]
    unknown = [a for a in names if a not in APPS]
    if unknown:
        raise SystemExit(f"unknown apps {unknown}; choose from {', '.join(APPS)}")
    work = Path(tempfile.mkdtemp(prefix="hd-bench-http-"))
    if args.database == "postgresql":
        admin = os.environ.get("HYPER_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
        for sql in ("DROP DATABASE IF EXISTS hd_http_bench WITH (FORCE)", "CREATE DATABASE hd_http_bench"):
            subprocess.run(["psql", admin, "-qc", sql], check=True, capture_output=True)
        db = admin.rsplit("/", 1)[0] + "/hd_http_bench"
    else:
        db = f"sqlite:///{work / 'bench.sqlite3'}"
    sys.path.insert(0, str(TARGETS))
    from hyper_app import prepare

    token = prepare(db)
    out = []
    if args.mode in ("inproc", "both"):
        s = run_inproc(names, args.repeat, args.n, token, db)
        out.append(report(f"In-process, process CPU us/request (median of {args.repeat})", "us", s, names, False))
    if args.mode in ("http", "both"):
        s, cpu = run_http(names, args.rounds, args.duration, token, db, work, not args.no_pin)
        out.append(report(f"uvicorn + wrk -c64, requests/s (median of {args.rounds})", "req/s", s, names, True))
        out.append(report(f"uvicorn + wrk -c64, server CPU us/request, every thread (median of {args.rounds})", "us", cpu, names, False))
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
