"""``hyper demo --simulate 30d`` as a user runs it (without serving)."""

from __future__ import annotations

import json
from pathlib import Path

from hyper_cli import assert_one_line_error, hyper


def demo_env(tmp: Path, **env: str) -> dict[str, str | None]:
    """``hyper demo``'s own settings (no HYPER_ENV), its database under ``tmp/var``."""
    return {"HYPER_ENV": None, "HYPER_VAR_DIR": str(tmp / "var"), **env}


def test_demo_simulate_fills_the_demo_database(tmp_path: Path) -> None:
    r = hyper("demo", "--simulate", "30d", "--no-serve", cwd=tmp_path, env=demo_env(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "simulated 30 days" in r.stdout and "releases v1.2.0, v1.3.0, v1.4.0" in r.stdout
    assert "/_hyper/" in r.stdout
    db = f"sqlite:///{tmp_path / 'var' / 'demo.sqlite3'}"
    listed = hyper(
        "features", "list", "--json", cwd=tmp_path,
        env=demo_env(tmp_path, HYPER_DATABASE_URL=db, HYPER_APP="hyperdeliver.demo.teamboard.app:create_app"),
    )
    rows = {row["feature"]: row for row in json.loads(listed.stdout)}
    assert rows["legacy_export"]["lifecycle"] == "deprecated" and rows["legacy_export"]["sunset"]


def test_demo_simulate_bad_period_is_one_line(tmp_path: Path) -> None:
    r = hyper("demo", "--simulate", "30x", "--no-serve", cwd=tmp_path, env=demo_env(tmp_path))
    assert_one_line_error(r, "bad period '30x'")
