"""GraphQL vs REST: the same authenticated POST /items operation through both adapters, side by side.

    .venv/bin/python bench/graphql_bench.py [--seconds 3] [--rounds 5] [--http] [--connections 32]

The operation is the peers' contract (shared/bench/peers): ``POST /items`` with an
``Authorization: Bearer`` API token, role ``editor`` required, body
``{"name": str 1..100, "price": float >= 0, "tags": list[str]}`` validated by Pydantic,
201 with ``{"id", "name", "price", "tags", "owner"}``. Through GraphQL it is
``mutation($d: ItemInput!) { createItem(data: $d) { id name price tags owner } }``.
Both go through hyperdeliver's front controller (token authentication, role check,
validation, unit of work, serialization, usage observers).

Two measurements, rounds interleaved (REST, GraphQL, REST, GraphQL...):

1. in-process: the ASGI app called directly in a loop (no sockets); the framework's
   own cost per request. Every answer is checked (status and body). A third form,
   ``graphql-core``, turns the compiled fast path off (``GraphQLPlugin.fast_path``)
   to show what graphql-core's general executor costs.
2. ``--http``: uvicorn (1 worker, httptools, uvloop when installed) in a subprocess,
   loaded over keep-alive HTTP/1.1 by a small asyncio client with ``--connections``
   connections. Both forms use the same client, so the ratio is fair; the absolute
   numbers are bounded by the Python client on a 2-core machine.

The file is named ``graphql_bench.py``, not ``graphql.py``: a script named like the
graphql-core package would shadow it.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The peers' contract models come from targets/hyper_app.py (the HTTP benchmark's target).
_HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(_HERE / "targets"))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import itertools  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import orjson  # noqa: E402
from hyper_app import ItemIn, ItemOut  # noqa: E402

from hyperdeliver import App, Context, Feature, Settings  # noqa: E402
from hyperdeliver.graphql import GraphQLPlugin  # noqa: E402

GRAPHQL_DOC = "mutation($d: ItemInput!) { createItem(data: $d) { id name price tags owner } }"
ITEM = {"name": "widget", "price": 9.5, "tags": ["a", "b"]}


# -- the benchmarked app ------------------------------------------------------------

items = Feature("items", owner="bench@hyperdeliver.dev", summary="The peers' POST /items contract")
_ids = itertools.count(1)


@items.mutation("POST /items", roles={"editor"})
async def create_item(ctx: Context, data: ItemIn) -> ItemOut:
    """Create an item (editors only)."""
    return ItemOut(id=next(_ids), name=data.name, price=data.price, tags=data.tags, owner=ctx.user.user_id or 0)


def create_app(settings: Settings | None = None) -> App:
    return App("bench", features=[items], roles=["viewer", "editor"], settings=settings)


def bench_settings(db_file: Path) -> Settings:
    return Settings(env="production", secret_key="bench-only-secret-key-not-for-deployments", database_url=f"sqlite:///{db_file}", var_dir=db_file.parent, access_log=False, usage_enabled=False)


async def prepare(db_file: Path) -> str:
    """Migrate a fresh SQLite database, create an editor and return their API token."""
    from hyperdeliver.db.migrate import upgrade_async

    app = create_app(bench_settings(db_file))
    await upgrade_async(app)
    async with app.database.session() as s:
        user = await app.auth.create_user(s, "editor@bench.dev", "editor-password", {"editor"})
        _row, token = await app.auth.create_token(s, user.id, "bench")
        await s.commit()
    await app.database.dispose()
    return token


# -- in-process ASGI ------------------------------------------------------------------


def requests_for(token: str) -> dict[str, tuple[str, bytes, int]]:
    """form -> (path, body, expected status)."""
    return {
        "rest": ("/items", orjson.dumps(ITEM), 201),
        "graphql": ("/graphql", orjson.dumps({"query": GRAPHQL_DOC, "variables": {"d": ITEM}}), 200),
    }


async def call(app: App, token: str, path: str, body: bytes) -> tuple[int, bytes]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"], sent[1]["body"]


def check(form: str, status: int, payload: bytes, expected: int) -> None:
    data = orjson.loads(payload)
    item = data["data"]["createItem"] if form.startswith("graphql") else data
    if status != expected or item["name"] != ITEM["name"] or item["tags"] != ITEM["tags"] or item["owner"] < 1:
        raise SystemExit(f"{form}: unexpected answer {status} {payload[:300]!r}")


async def inprocess(db_file: Path, token: str, seconds: float, rounds: int) -> dict[str, list[float]]:
    """REST, GraphQL, and GraphQL with every document through graphql-core's executor."""
    app = create_app(bench_settings(db_file))
    await app.startup()
    plugin = app.plugin(GraphQLPlugin)
    reqs = requests_for(token)
    reqs["graphql-core"] = reqs["graphql"]
    results: dict[str, list[float]] = {form: [] for form in reqs}
    for form, (path, body, expected) in reqs.items():  # warm up, check the answers
        plugin.fast_path = form != "graphql-core"
        for _ in range(200):
            status, payload = await call(app, token, path, body)
            check(form, status, payload, expected)
    for _ in range(rounds):
        for form, (path, body, expected) in reqs.items():
            plugin.fast_path = form != "graphql-core"
            n = 0
            start = time.perf_counter()
            deadline = start + seconds
            while True:
                for _ in range(100):
                    await call(app, token, path, body)
                n += 100
                now = time.perf_counter()
                if now >= deadline:
                    break
            results[form].append(n / (now - start))
            status, payload = await call(app, token, path, body)
            check(form, status, payload, expected)
    await app.shutdown()
    return results


# -- over HTTP -------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _http_worker(port: int, request: bytes, deadline: float, counter: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < deadline:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            if not head.startswith((b"HTTP/1.1 200", b"HTTP/1.1 201")):
                raise SystemExit(f"HTTP answer: {head[:200]!r}")
            counter[0] += 1
    finally:
        writer.close()


async def http_load(port: int, request: bytes, seconds: float, connections: int) -> float:
    counter = [0]
    start = time.perf_counter()
    await asyncio.gather(*(_http_worker(port, request, start + seconds, counter) for _ in range(connections)))
    return counter[0] / (time.perf_counter() - start)


def over_http(db_file: Path, token: str, seconds: float, rounds: int, connections: int) -> dict[str, list[float]]:
    port = _free_port()
    env = {**os.environ, "HYPER_BENCH_DB": str(db_file)}
    try:
        import uvloop  # noqa: F401

        loop = "uvloop"
    except ImportError:
        loop = "asyncio"
    # Load this file by path (not through sys.path, see the top of the file) and serve it.
    boot = (
        "import importlib.util, sys, uvicorn\n"
        f"spec = importlib.util.spec_from_file_location('graphql_bench', {str(Path(__file__).resolve())!r})\n"
        "m = importlib.util.module_from_spec(spec); sys.modules['graphql_bench'] = m; spec.loader.exec_module(m)\n"
        f"uvicorn.run(m.served_app(), host='127.0.0.1', port={port}, workers=1, http='httptools', loop={loop!r}, "
        "access_log=False, log_level='warning')\n"
    )
    cmd = [sys.executable, "-c", boot]
    if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        cmd = ["taskset", "-c", "1", *cmd]  # the server on CPU 1, this client on CPU 0
        os.sched_setaffinity(0, {0})
    server = subprocess.Popen(cmd, env=env)
    results: dict[str, list[float]] = {"rest": [], "graphql": []}
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("uvicorn did not start") from None
                time.sleep(0.05)
        raw = {}
        for form, (path, body, _expected) in requests_for(token).items():
            raw[form] = (
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode() + body
        for form, request in raw.items():  # warm-up
            asyncio.run(http_load(port, request, 1.0, connections))
        for _ in range(rounds):
            for form, request in raw.items():
                results[form].append(asyncio.run(http_load(port, request, seconds, connections)))
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
    return results


def served_app() -> App:
    """The app uvicorn serves in ``--http`` mode."""
    return create_app(bench_settings(Path(os.environ["HYPER_BENCH_DB"])))


# -- report ----------------------------------------------------------------------------


def report(title: str, results: dict[str, list[float]]) -> None:
    rest = statistics.median(results["rest"])
    gql = statistics.median(results["graphql"])
    print(f"\n{title}")
    print(f"  {'form':<10}{'req/s (median)':>16}{'min':>10}{'max':>10}   rounds")
    for form, values in results.items():
        print(f"  {form:<10}{statistics.median(values):>16,.0f}{min(values):>10,.0f}{max(values):>10,.0f}   {len(values)}")
    print(f"  GraphQL / REST = {gql / rest:.2f}x")
    if "graphql-core" in results:
        core = statistics.median(results["graphql-core"])
        print(f"  (every document through graphql-core's executor: {core / rest:.2f}x of REST)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="length of one timed run")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds per form")
    parser.add_argument("--http", action="store_true", help="also measure over HTTP with uvicorn")
    parser.add_argument("--connections", type=int, default=32, help="keep-alive connections in --http mode")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hd-bench-") as tmp:
        db_file = Path(tmp) / "bench.sqlite3"
        token = asyncio.run(prepare(db_file))
        print(f"authenticated POST /items (role editor, validated body) through REST and GraphQL; python {sys.version.split()[0]}")
        report("in-process ASGI (no sockets)", asyncio.run(inprocess(db_file, token, args.seconds, args.rounds)))
        if args.http:
            report(
                f"uvicorn over HTTP/1.1 keep-alive, {args.connections} connections",
                over_http(db_file, token, args.seconds, args.rounds, args.connections),
            )


if __name__ == "__main__":
    main()
