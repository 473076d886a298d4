"""docs/testing.md: its examples are a project's test files and run as they are; it names
every part of the kit."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from hyper_cli import HYPER

import hyperdeliver.testing
from hyperdeliver.testing import plugin

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "testing.md").read_text()
BLOCK = re.compile(r"```(python|toml)\n# (\S+)\n(.*?)```", re.S)


def files() -> dict[str, str]:
    """The doc's files: each python or toml block whose first line names its path."""
    return {path: f"# {path}\n{body}" for _lang, path, body in BLOCK.findall(DOC)}


def test_every_example_runs_as_a_test_file(tmp_path: Path) -> None:
    found = files()
    assert "pyproject.toml" in found and "tests/test_permissions.py" in found
    for path, text in found.items():
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    tests = sum(len(re.findall(r"^async def test_|^def test_", text, re.M)) for text in found.values())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HYPER_", "PYTEST_"))}
    # The matrix's cells of one operation: the whole of teamboard's runs in tests/demo/.
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-k", "not test_permission_matrix or tasks.create_task-"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    # and the matrix line: 10 callers of create_task (6, and the workspace's 3 roles and another workspace's admin)
    assert f"{tests + 10} passed" in r.stdout, r.stdout[-600:]


def test_the_doc_names_every_public_name_and_fixture_of_the_kit() -> None:
    for name in hyperdeliver.testing.__all__:
        assert f"`{name}" in DOC or f"import {name}" in DOC or f", {name}" in DOC, f"docs/testing.md does not mention {name}"
    fixtures = ["app", "client", "make_user", "login_as", "api_token", "grant", "run_jobs", "run_cron", "clock", "usage"]
    for name in fixtures:
        assert callable(getattr(plugin, name)), name
        assert re.search(rf"^\| `{name}[`(]", DOC, re.M), f"the fixtures table lacks {name}"


def test_the_routes_matrix_shown_is_what_hyper_prints() -> None:
    shown = re.search(r"\$ hyper routes --matrix\n(.*?)```", DOC, re.S)
    assert shown is not None
    header, *rows = [line.split() for line in shown.group(1).strip().splitlines()]
    env = {**os.environ, "HYPER_APP": "hyperdeliver.demo.teamboard.app:create_app", "HYPER_ENV": "test"}
    r = subprocess.run([HYPER, "routes", "--matrix", "--json"], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    real = {row["operation"]: row for row in json.loads(r.stdout)}
    callers = header[2:]
    for row in rows:
        op, method, path, *cells = row
        assert real[op]["method"] == method and real[op]["path"] == path
        assert cells == [real[op]["callers"][c] or "-" for c in callers], op
