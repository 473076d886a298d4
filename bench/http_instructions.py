"""bench/http_bench.py's served comparison counted in instructions, which this VM's noise does not move.

    .venv/bin/python bench/http_instructions.py                       # hyperdeliver and raw ASGI, 3,000 requests each
    .venv/bin/python bench/http_instructions.py --apps raw,starlette,litestar --cache-sim

Requests per second on this shared VM move by tens of per cent between runs of one
server, so ``bench/http_bench.py``'s ratios spread (its per-round min..max). Here each
app's uvicorn server (uvloop, httptools, one worker, as there) runs under ``valgrind
--tool=callgrind``; after a warm-up its counters are zeroed, exactly ``--requests``
requests go over 8 keep-alive connections, and the instructions of every server thread
are summed. ``--cache-sim`` counts callgrind's cycle estimate instead (see
``bench/usage_instructions.py``).

What this leaves out is the kernel: the socket reads and writes of a request cost the
same for every app (~12 µs a request here, 40 % of raw ASGI's CPU time), so the
ratio of requests per second is closer to 1 than the ratio of user-space instructions.
Under callgrind the server runs ~50x slower while its timers (the usage flush, once a
second) keep wall-clock time: background work is overstated per request, not hidden.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]  # bench/queue.py shadows queue
HOST = "127.0.0.1"
CONNECTIONS = 8


def _module(name: str) -> Any:
    """A sibling bench script as a module (not through sys.path: bench/queue.py would shadow queue)."""
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = _module("http_bench")
counted = _module("usage_instructions")


def drive(port: int, endpoint: str, requests: int, token: str) -> None:
    """Exactly ``requests`` calls of ``endpoint`` over ``CONNECTIONS`` keep-alive connections, each answered as expected."""
    method, path, expect = bench.ENDPOINTS[endpoint]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"} if method == "POST" else {}
    body = bench.ITEMS_BODY if method == "POST" else None
    failures: list[str] = []

    def one_connection(n: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=300)
        try:
            for _ in range(n):
                conn.request(method, path, body=body, headers=headers)
                r = conn.getresponse()
                r.read()
                if r.status != expect:
                    failures.append(f"{path}: {r.status}")
                    return
        except OSError as exc:
            failures.append(f"{path}: {exc}")
        finally:
            conn.close()

    share = [requests // CONNECTIONS + (1 if i < requests % CONNECTIONS else 0) for i in range(CONNECTIONS)]
    threads = [threading.Thread(target=one_connection, args=(n,)) for n in share]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise SystemExit(f"run rejected: {failures[:3]}")


def run(name: str, db: str, port: int, work: Path, requests: int, cache_sim: bool, token: str) -> dict[str, float]:
    target, folder = bench.APPS[name]
    out = work / f"cg-{name}.out"
    sim = ["--cache-sim=yes", "--branch-sim=yes"] if cache_sim else []
    cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--dump-instr=no", *sim,
           sys.executable, "-m", "uvicorn", target, "--app-dir", str(folder), "--host", HOST, "--port", str(port),
           "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"]
    env = {**os.environ, "HYPER_DATABASE_URL": db, "PYTHONPATH": str(folder), **bench.APP_ENV.get(name, {})}
    log = open(work / f"{name}.log", "ab")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"{name}: server exited ({proc.returncode}); see {work}/{name}.log")
            try:
                drive(port, "hello", 1, token)
                break
            except SystemExit:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
        per_request = {}
        for endpoint in bench.ENDPOINTS:
            drive(port, endpoint, max(400, requests // 5), token)  # warm-up: caches, the first flushes
            time.sleep(1.5)
            subprocess.run(["callgrind_control", "-z", str(proc.pid)], check=True, capture_output=True, timeout=120)
            drive(port, endpoint, requests, token)
            time.sleep(2.5)  # the last batch's usage flush (every second) is part of the cost
            per_request[endpoint] = counted.instructions(proc.pid, out) / requests
        return per_request
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(120)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--apps", default="raw", help="the peers, comma-separated (hyperdeliver is always counted): " + ", ".join(bench.APPS))
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--cache-sim", action="store_true", help="count estimated cycles (cache and branch simulation), not instructions")
    args = ap.parse_args()
    if not (shutil.which("valgrind") and shutil.which("callgrind_control")):
        raise SystemExit("bench/http_instructions.py needs valgrind (Debian: apt-get install valgrind)")
    if not (bench.PEERS_DIR / "apps" / "raw_asgi.py").exists():
        raise SystemExit(f"the peer apps are not at {bench.PEERS_DIR} (set HYPER_PEERS_DIR)")
    names = ["hyperdeliver"] + [a for a in args.apps.split(",") if a and a != "hyperdeliver"]
    if unknown := [a for a in names if a not in bench.APPS]:
        raise SystemExit(f"unknown apps {unknown}; choose from {', '.join(bench.APPS)}")
    work = Path(tempfile.mkdtemp(prefix="hd-http-instr-"))
    db = f"sqlite:///{work / 'bench.sqlite3'}"
    sys.path.insert(0, str(bench.TARGETS))
    from hyper_app import prepare

    token = prepare(db)
    counts = {}
    for i, name in enumerate(names):
        counts[name] = run(name, db, 8900 + i, work, args.requests, args.cache_sim, bench.token_for(name, token))
        print(f"  {name}: done", flush=True)
    unit = "est. cycles" if args.cache_sim else "instr"
    print(f"\nuvicorn under callgrind, {args.requests:,} requests over {CONNECTIONS} connections, all server threads\n")
    print(f"| app | GET /hello {unit}/req | POST /items {unit}/req | hyperdeliver vs app, /hello | /items |")
    print("|---|---:|---:|---:|---:|")
    ours = counts["hyperdeliver"]
    for name in names:
        c = counts[name]
        print(f"| {name} | {c['hello']:,.0f} | {c['items']:,.0f} | {c['hello'] / ours['hello']:.2f}x | {c['items'] / ours['items']:.2f}x |")
    print("\n(x: the app's count over hyperdeliver's, above 1.0 when hyperdeliver executes less)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
