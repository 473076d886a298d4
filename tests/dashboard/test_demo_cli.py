"""``hyper demo --simulate 30d`` as a user runs it (without serving)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HYPER = str(Path(sys.executable).parent / "hyper")


def hyper(*args: str, tmp: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k not in ("HYPER_DATABASE_URL", "HYPER_APP")}
    full.update({"HYPER_VAR_DIR": str(tmp / "var"), "NO_COLOR": "1", "COLUMNS": "200", **env})
    return subprocess.run([HYPER, *args], capture_output=True, text=True, env=full, cwd=tmp, timeout=180)


def test_demo_simulate_fills_the_demo_database(tmp_path: Path) -> None:
    r = hyper("demo", "--simulate", "30d", "--no-serve", tmp=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "simulated 30 days" in r.stdout and "releases v1.2.0, v1.3.0, v1.4.0" in r.stdout
    assert "/_hyper/" in r.stdout
    db = f"sqlite:///{tmp_path / 'var' / 'demo.sqlite3'}"
    listed = hyper("features", "list", "--json", tmp=tmp_path, HYPER_DATABASE_URL=db, HYPER_APP="hyperdeliver.demo.teamboard.app:create_app")
    rows = {row["feature"]: row for row in json.loads(listed.stdout)}
    assert rows["legacy_export"]["lifecycle"] == "deprecated" and rows["legacy_export"]["sunset"]


def test_demo_simulate_bad_period_is_one_line(tmp_path: Path) -> None:
    r = hyper("demo", "--simulate", "30x", "--no-serve", tmp=tmp_path)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "bad period '30x'" in lines[0], r.stderr
