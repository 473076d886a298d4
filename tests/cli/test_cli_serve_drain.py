"""``hyper serve`` on SIGTERM: the requests in flight finish, the process exits 0; a
request longer than ``graceful_timeout`` is cut off and the process still exits."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
from pathlib import Path

import httpx
import pytest
from hyper_cli import HYPER
from waiting import wait_until

HERE = Path(__file__).resolve().parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(tmp_path: Path, **settings: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), *filter(None, [env.get("PYTHONPATH")])])
    env.update(
        HYPER_APP="slowapp:create_app",
        HYPER_ENV="test",
        HYPER_DATABASE_URL=f"sqlite:///{tmp_path / 'slow.sqlite3'}",
        HD_TEST_STARTED=str(tmp_path / "started"),
    )
    env.update({f"HYPER_{k.upper()}": v for k, v in settings.items()})
    return env


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def serve(tmp_path: Path):
    """``serve(**settings)``: a migrated slowapp served by ``hyper serve``; (process, base url)."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(**settings: str) -> tuple[subprocess.Popen[bytes], str]:
        env = _env(tmp_path, **settings)
        subprocess.run([HYPER, "db", "upgrade"], env=env, check=True, capture_output=True, timeout=120)
        port = _free_port()
        proc = subprocess.Popen([HYPER, "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        procs.append(proc)
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: proc.poll() is not None or _answers(base + "/healthz"), "hyper serve to answer /healthz")
        assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
        return proc, base

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
        if proc.stdout:
            proc.stdout.close()


def _get_in_thread(url: str, results: list[object]) -> threading.Thread:
    def go() -> None:
        try:
            results.append(httpx.get(url, timeout=120))
        except httpx.HTTPError as exc:
            results.append(exc)

    thread = threading.Thread(target=go, daemon=True)
    thread.start()
    return thread


def test_sigterm_lets_the_requests_in_flight_finish_and_exits_0(serve, tmp_path: Path) -> None:
    proc, base = serve(graceful_timeout="30")
    results: list[object] = []
    threads = [_get_in_thread(f"{base}/slow?seconds=2", results) for _ in range(3)]
    wait_until(lambda: (tmp_path / "started").is_file() and len((tmp_path / "started").read_text().split()) == 3,
                "three slow requests in flight")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    for thread in threads:
        thread.join(timeout=60)
    assert [getattr(r, "status_code", r) for r in results] == [200, 200, 200]
    assert all(r.json() == {"slept": 2.0} for r in results)  # type: ignore[union-attr]
    log = proc.stdout.read().decode() if proc.stdout else ""
    assert "Traceback" not in log
    # Stopped accepting: nothing answers on the port any more.
    assert not _answers(base + "/healthz")


def test_a_request_longer_than_the_graceful_timeout_is_cut_off_and_the_process_exits(serve, tmp_path: Path) -> None:
    proc, base = serve(graceful_timeout="1")
    results: list[object] = []
    thread = _get_in_thread(f"{base}/slow?seconds=100", results)
    wait_until(lambda: (tmp_path / "started").is_file(), "the slow request in flight")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0  # long before the request's 100 s
    thread.join(timeout=60)
    assert len(results) == 1 and getattr(results[0], "status_code", None) != 200


def test_sigterm_while_the_app_is_still_loading_exits_at_once_with_143(tmp_path: Path) -> None:
    """PID 1 in a container ignores a signal it has no handler for: hyper installs one
    first thing, so a SIGTERM during start-up is not lost until the grace period's SIGKILL."""
    env = _env(tmp_path, graceful_timeout="30")
    env["HD_TEST_SLOW_START"] = "300"
    proc = subprocess.Popen([HYPER, "serve", "--port", str(_free_port())], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until(lambda: (tmp_path / "started").is_file(), "the app to start loading")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 143  # not -15 (no handler), not 300 s later
        assert proc.stderr is not None and b"Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if proc.stderr:
            proc.stderr.close()
