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
import functools
import importlib.util
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
HOST = "127.0.0.1"


def _module(name: str) -> Any:
    """A sibling bench script as a module."""
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = _module("http_bench")
counted = _module("usage_instructions")


def drive(port: int, endpoint: str, requests: int, token: str = "") -> None:
    """Exactly ``requests`` calls of ``endpoint`` (http_bench's contract), each answered as expected."""
    method, path, expect = bench.ENDPOINTS[endpoint]
    if method == "POST":
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        counted.drive(port, path, requests, method=method, body=bench.ITEMS_BODY, headers=headers, expect=expect)
    else:
        counted.drive(port, path, requests, headers={}, expect=expect)


def run(name: str, db: str, port: int, work: Path, requests: int, cache_sim: bool, token: str) -> dict[str, float]:
    target, folder = bench.APPS[name]
    env = {"HYPER_DATABASE_URL": db, **bench.APP_ENV.get(name, {})}
    workloads = {endpoint: functools.partial(drive, port, endpoint, token=token) for endpoint in bench.ENDPOINTS}
    return counted.count_served(target, folder, env, port, work, name, cache_sim, requests,  # type: ignore[no-any-return]
                                lambda: drive(port, "hello", 1, token), workloads)


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
    print(f"\nuvicorn under callgrind, {args.requests:,} requests over {counted.CONNECTIONS} connections, all server threads\n")
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
