"""Usage recording's cost in instructions per served request: recording on vs off.

    .venv/bin/python bench/usage_instructions.py                 # 3,000 requests per run, SQLite and PostgreSQL
    .venv/bin/python bench/usage_instructions.py --requests 6000 --databases sqlite

``bench/usage_http.py`` measures the ≤ 3 % target in requests per second, which this
shared VM cannot resolve (back-to-back runs of one server spread by tens of per cent).
This script counts what the server executes instead, which the machine's noise does not
change: the uvicorn server of ``bench/targets/usage_app.py`` (uvloop, httptools, one
worker) runs under ``valgrind --tool=callgrind`` with ``HYPER_USAGE_ENABLED`` true or
false; after a warm-up the counters are zeroed, a client sends exactly ``--requests``
requests over 8 keep-alive connections, and the instructions of every thread of the
server (the loop, the SQLite writer thread) are dumped.

Instructions are not time: cache misses and branch mispredictions are not in them. But
the recorder's cost is plain Python work (an append per call, a flush per batch), so its
share of instructions is its share of the CPU to within a few tenths. Under callgrind
the server is ~50x slower, so a flush carries fewer calls than at full speed (it runs
every second): the per-call share of the flush's fixed cost is overstated, not hidden.

``--cache-sim`` adds callgrind's cache and branch simulation and counts its cycle
estimate instead (Ir + 10 per L1 miss or mispredicted branch + 100 per last-level
miss), so the recorder's cache misses count too; it runs about twice as long.

Per endpoint it prints instructions per request off and on, and the loss
``1 - off/on`` (the throughput a CPU-bound server loses). Target: ≤ 3 %.
"""

from __future__ import annotations

import argparse
import functools
import http.client
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from collections.abc import Callable
from typing import Any

HERE = Path(__file__).resolve().parent
TARGETS = HERE / "targets"
HOST = "127.0.0.1"


def _usage_http() -> Any:
    """bench/usage_http.py as a module."""
    spec = importlib.util.spec_from_file_location("usage_http", HERE / "usage_http.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
ENDPOINTS = ("/hello", "/people", "/me/hello")
"""/me/hello is /hello for a member with an API token: the recorder's per-user work too."""
CONNECTIONS = 8


def drive(
    port: int, path: str, requests: int, token: str = "", *,
    method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None, expect: int = 200,
) -> None:
    """Exactly ``requests`` calls over ``CONNECTIONS`` keep-alive connections; every answer
    ``expect``. Without ``headers``, a /me/ path carries the API token."""
    if headers is None:
        headers = {"Authorization": f"Bearer {token}"} if path.startswith("/me/") else {}
    failures: list[str] = []

    def one_connection(n: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=120)
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


def cost(events: dict[str, int]) -> int:
    """Instructions, or with ``--cache-sim`` callgrind's cycle estimate: Ir + 10 per L1 miss
    and branch misprediction + 100 per last-level miss (as ``callgrind_annotate`` counts)."""
    if "I1mr" not in events:
        return events["Ir"]
    l1 = events["I1mr"] + events["D1mr"] + events["D1mw"]
    ll = events["ILmr"] + events["DLmr"] + events["DLmw"]
    return events["Ir"] + 10 * (l1 + events.get("Bcm", 0) + events.get("Bim", 0)) + 100 * ll


def instructions(pid: int, out: Path) -> int:
    """Dump the server's counters and return their cost (see :func:`cost`) since the last zeroing."""
    before = set(out.parent.glob(out.name + "*"))
    subprocess.run(["callgrind_control", "-d", str(pid)], check=True, capture_output=True, timeout=120)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        new = [p for p in set(out.parent.glob(out.name + "*")) - before if p.stat().st_size]
        if new:
            time.sleep(0.5)  # let every thread's part be written
            new = [p for p in set(out.parent.glob(out.name + "*")) - before]
            total = 0
            for p in new:
                text = p.read_text(errors="replace")
                names, summary = re.search(r"^events:\s+(.+)$", text, re.M), re.search(r"^summary:\s+(.+)$", text, re.M)
                if names and summary:
                    total += cost(dict(zip(names.group(1).split(), map(int, summary.group(1).split()))))
            return total
        time.sleep(0.2)
    raise SystemExit("callgrind wrote no dump")


def serve_flags() -> list[str]:
    """uvicorn's flags as ``hyper serve`` sets them (see ``bench/http_bench.py``'s ``SERVE_FLAGS``)."""
    return [] if os.environ.get("HYPER_BENCH_UVICORN_DEFAULTS") else ["--no-proxy-headers", "--no-server-header"]


def count_served(
    target: str, app_dir: Path, env: dict[str, str], port: int, work: Path, name: str, cache_sim: bool,
    requests: int, probe: Callable[[], None], workloads: dict[str, Callable[[int], None]],
) -> dict[str, float]:
    """Serve ``target`` (uvicorn, uvloop, httptools) under callgrind; once ``probe`` answers,
    for each workload: warm up, zero the counters, send ``requests``, wait for the last
    usage flush, dump. Returns each workload's cost per request (see :func:`cost`)."""
    out = work / f"cg-{name}.out"
    sim = ["--cache-sim=yes", "--branch-sim=yes"] if cache_sim else []
    cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--dump-instr=no", "--compress-strings=no", *sim,
           sys.executable, "-m", "uvicorn", target, "--app-dir", str(app_dir), "--host", HOST, "--port", str(port),
           "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning", *serve_flags()]
    log = open(work / f"{name}.log", "ab")
    proc = subprocess.Popen(cmd, env={**os.environ, "PYTHONPATH": str(app_dir), **env}, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"{name}: server exited ({proc.returncode}); see {work}/{name}.log")
            try:
                probe()
                break
            except SystemExit:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
        per_request = {}
        for label, send in workloads.items():
            send(max(300, requests // 5))  # warm-up: caches, pools, the first flushes
            time.sleep(1.5)
            subprocess.run(["callgrind_control", "-z", str(proc.pid)], check=True, capture_output=True, timeout=120)
            send(requests)
            time.sleep(2.5)  # the last batch's flush (every second) is part of the cost
            per_request[label] = instructions(proc.pid, out) / requests
        return per_request
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(120)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def run(url: str, enabled: bool, port: int, work: Path, requests: int, cache_sim: bool, token: str, endpoints: list[str]) -> dict[str, float]:
    env = {"HYPER_DATABASE_URL": url, "HYPER_USAGE_ENABLED": "true" if enabled else "false",
           "PYTHONMALLOC": "malloc" if os.environ.get("HYPER_BENCH_MALLOC") else "pymalloc"}
    workloads = {path: functools.partial(drive, port, path, token=token) for path in endpoints}
    return count_served("usage_app:app", TARGETS, env, port, work, f"server-{port}", cache_sim, requests,
                        lambda: drive(port, "/hello", 1), workloads)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--databases", default="sqlite,postgresql")
    ap.add_argument("--endpoints", default=",".join(ENDPOINTS), help="comma-separated, of " + ", ".join(ENDPOINTS))
    ap.add_argument("--cache-sim", action="store_true", help="count estimated cycles (cache and branch simulation), not instructions")
    args = ap.parse_args()
    if not (shutil.which("valgrind") and shutil.which("callgrind_control")):
        raise SystemExit("bench/usage_instructions.py needs valgrind (Debian: apt-get install valgrind)")
    sys.path.insert(0, str(TARGETS))
    import usage_app

    work = Path(tempfile.mkdtemp(prefix="hd-usage-instr-"))
    urls = _usage_http().database_urls(args.databases, work, "hd_usage_instr")
    endpoints = args.endpoints.split(",")
    if unknown := set(endpoints) - set(ENDPOINTS):
        raise SystemExit(f"unknown endpoint(s) {sorted(unknown)}: use {', '.join(ENDPOINTS)}")
    rows = []
    port = 8860
    for label, url in urls.items():
        token = usage_app.prepare(url)
        counts = {}
        for enabled in (False, True):
            port += 1
            counts[enabled] = run(url, enabled, port, work, args.requests, args.cache_sim, token, endpoints)
            print(f"  {label}, recording {'on' if enabled else 'off'}: done", flush=True)
        for path in endpoints:
            off, on = counts[False][path], counts[True][path]
            rows.append(f"| {label} | GET {path} | {off:,.0f} | {on:,.0f} | {on - off:,.0f} | {100 * (1 - off / on):.2f} % |")
    unit = "est. cycles" if args.cache_sim else "instr"
    print(f"\nuvicorn under callgrind, {args.requests:,} requests over {CONNECTIONS} connections, all server threads\n")
    print(f"| database | endpoint | off {unit}/req | on {unit}/req | recording {unit}/req | loss |")
    print("|---|---|---:|---:|---:|---:|")
    print("\n".join(rows))
    print("\ntarget: loss ≤ 3 %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
