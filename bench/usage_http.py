"""Throughput with usage recording on vs off, over HTTP, as a deployed app runs.

    .venv/bin/python bench/usage_http.py                      # 8 rounds of 4 s, SQLite and PostgreSQL
    .venv/bin/python bench/usage_http.py --rounds 5 --duration 8

One uvicorn worker (uvloop, httptools) pinned to CPU 1 serves ``bench/targets/usage_app.py``
with ``HYPER_USAGE_ENABLED`` true or false; ``wrk -t1 -c64`` pinned to CPU 0 calls one
endpoint: ``/hello`` (no I/O: the worst case for recording's share) or ``/people`` (one
database read, as most calls do). Per run: requests per second and the server's CPU
time per request (from /proc, all threads, so it includes the flusher and the SQLite
writer). The on and the off server are up together and wrk alternates between them
(order swapped each round), so each round's two runs see the same machine; the servers
are started afresh every round. The loss is the median of the rounds' 1 - on/off.
PostgreSQL: 127.0.0.1:5432 (database ``hd_usage_http``, dropped and created).
Target: loss ≤ 3 %. The CPU loss column is the same comparison in requests per
CPU-second of the server (paired per round): what a CPU-bound server loses, with far
less of the shared machine's wall-clock noise.
"""

from __future__ import annotations

import argparse
import http.client
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
TARGETS = HERE / "targets"
HOST = "127.0.0.1"
PG_ADMIN = os.environ.get("HYPER_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
ENDPOINTS = ("/hello", "/people")


def database_urls(names: str, work: Path, pg_database: str) -> dict[str, str]:
    """``{"SQLite": url, "PostgreSQL": url}`` for ``names`` ("sqlite,postgresql"): a file
    under ``work``, and ``pg_database`` dropped and created afresh."""
    urls = {}
    for db in names.split(","):
        if db == "sqlite":
            urls["SQLite"] = f"sqlite:///{work / 'usage.sqlite3'}"
        elif db == "postgresql":
            for sql in (f"DROP DATABASE IF EXISTS {pg_database} WITH (FORCE)", f"CREATE DATABASE {pg_database}"):
                subprocess.run(["psql", PG_ADMIN, "-qc", sql], check=True, capture_output=True)
            urls["PostgreSQL"] = PG_ADMIN.rsplit("/", 1)[0] + "/" + pg_database
        else:
            raise SystemExit(f"unknown database {db!r}: use sqlite, postgresql or both")
    return urls


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def serve(url: str, enabled: bool, port: int, log: Path) -> subprocess.Popen[bytes]:
    pin = ["taskset", "-c", "1"] if shutil.which("taskset") and (os.cpu_count() or 1) >= 2 else []
    cmd = pin + [sys.executable, "-m", "uvicorn", "usage_app:app", "--app-dir", str(TARGETS), "--host", HOST, "--port", str(port),
                 "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"]
    env = {**os.environ, "HYPER_DATABASE_URL": url, "HYPER_USAGE_ENABLED": "true" if enabled else "false", "PYTHONPATH": str(TARGETS)}
    proc = subprocess.Popen(cmd, env=env, stdout=open(log, "ab"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited ({proc.returncode}); see {log}")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=1)
            conn.request("GET", "/people")
            ok = conn.getresponse().status == 200
            conn.close()
            if ok:
                return proc
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"server not ready in 30 s; see {log}")


def wrk(port: int, path: str, duration: int) -> tuple[float, int]:
    pin = ["taskset", "-c", "0"] if shutil.which("taskset") and (os.cpu_count() or 1) >= 2 else []
    res = subprocess.run(pin + ["wrk", "-t1", "-c64", f"-d{duration}s", f"http://{HOST}:{port}{path}"],
                         capture_output=True, text=True, timeout=duration + 30)
    if res.returncode != 0 or "Non-2xx" in res.stdout or "Socket errors" in res.stdout:
        raise SystemExit(f"wrk run rejected (errors or non-2xx answers):\n{res.stdout}{res.stderr}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", res.stdout).group(1))  # type: ignore[union-attr]
    n = int(re.search(r"(\d+) requests in", res.stdout).group(1))  # type: ignore[union-attr]
    return rps, n


def measure(proc: subprocess.Popen[bytes], port: int, path: str, duration: int) -> tuple[float, float]:
    """(req/s, server CPU µs per request) of one wrk run against a running server."""
    c0 = cpu_seconds(proc.pid)
    rps, n = wrk(port, path, duration)
    return rps, (cpu_seconds(proc.pid) - c0) / n * 1e6


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--duration", type=int, default=4)
    ap.add_argument("--databases", default="sqlite,postgresql")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("bench/usage_http.py needs wrk (Debian: apt-get install wrk)")
    sys.path.insert(0, str(TARGETS))
    import usage_app

    work = Path(tempfile.mkdtemp(prefix="hd-usage-http-"))
    urls = database_urls(args.databases, work, "hd_usage_http")
    for url in urls.values():
        usage_app.prepare(url)
    samples: dict[tuple[str, str, bool], list[tuple[float, float]]] = {}
    procs: dict[tuple[str, bool], tuple[subprocess.Popen[bytes], int]] = {}
    try:
        for r in range(args.rounds):
            # Fresh servers every round: one process pair can be a few % apart for the
            # whole of its life (memory layout), which pairing within a round cannot cancel.
            port = 8830
            for label, url in urls.items():
                for enabled in (False, True):
                    port += 1
                    procs[(label, enabled)] = (serve(url, enabled, port, work / f"server-{label}-{enabled}.log"), port)
            for proc, port in procs.values():
                for path in ENDPOINTS:
                    wrk(port, path, 1)  # warm-up
            for label in urls:
                for path in ENDPOINTS:
                    for enabled in ((False, True) if r % 2 == 0 else (True, False)):
                        proc, port = procs[(label, enabled)]
                        samples.setdefault((label, path, enabled), []).append(measure(proc, port, path, args.duration))
            for proc, _ in procs.values():
                stop(proc)
            procs.clear()
            print(f"  round {r + 1}/{args.rounds} done", flush=True)
    finally:
        for proc, _ in procs.values():
            stop(proc)
    print("\nuvicorn + wrk -c64, recording off vs on: medians of the rounds; losses from the per-round paired ratios\n")
    print("| database | endpoint | off req/s | on req/s | loss (min..max) | off CPU µs/req | on CPU µs/req | recording µs/req | CPU loss (min..max) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for label in urls:
        for path in ENDPOINTS:
            off = samples[(label, path, False)]
            on = samples[(label, path, True)]
            losses = [100 * (1 - a[0] / b[0]) for a, b in zip(on, off)]
            # requests per CPU-second of the server: its throughput when CPU-bound, without
            # the wall-clock noise of a shared machine (the database server's CPU not counted)
            cpu_losses = [100 * (1 - b[1] / a[1]) for a, b in zip(on, off)]
            off_rps, on_rps = statistics.median(s[0] for s in off), statistics.median(s[0] for s in on)
            off_cpu, on_cpu = statistics.median(s[1] for s in off), statistics.median(s[1] for s in on)
            print(f"| {label} | GET {path} | {off_rps:,.0f} | {on_rps:,.0f} | {statistics.median(losses):.1f} % "
                  f"({min(losses):.1f}..{max(losses):.1f}) | {off_cpu:.1f} | {on_cpu:.1f} | {on_cpu - off_cpu:.1f} | "
                  f"{statistics.median(cpu_losses):.1f} % ({min(cpu_losses):.1f}..{max(cpu_losses):.1f}) |")
    print("\ntarget: loss ≤ 3 %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
