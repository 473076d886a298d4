"""The generated project's GitHub workflows and dependabot config: clean for actionlint
(with shellcheck), ``zizmor --offline`` and check-jsonschema's bundled schemas; pinned,
least-privilege, time-limited; and the deploy workflow's release steps, run by hand in
a new project, record a deployment started then succeeded with its commits and features."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from scaffoldhelpers import hyper

from hyperdeliver.scaffold.new import new_project

BIN = Path(sys.executable).parent
WORKFLOWS = [".github/workflows/ci.yml", ".github/workflows/deploy.yml"]


def tool(name: str) -> str:
    path = BIN / name
    if path.exists():
        return str(path)
    if os.environ.get("CI"):
        pytest.fail(f"{name} is not installed: pip install -e '.[test]'")
    pytest.skip(f"{name} is not installed (pip install -e '.[test]')")


@pytest.fixture(scope="module")
def acme(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return new_project("acme", tmp_path_factory.mktemp("wf") / "acme", owner="ada@acme.io", git=False)


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "NO_COLOR": "1"}
    return subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, env=env, timeout=300)


def test_actionlint_with_shellcheck_finds_nothing(acme: Path) -> None:
    tool("shellcheck")  # actionlint runs it on every run: script when it is on PATH
    r = run(tool("actionlint"), "-no-color", *WORKFLOWS, cwd=acme)
    assert r.returncode == 0 and r.stdout == "", r.stdout + r.stderr


def test_zizmor_offline_finds_nothing(acme: Path) -> None:
    for persona in ("regular", "pedantic"):
        r = run(tool("zizmor"), "--offline", "--no-progress", f"--persona={persona}", ".github/", cwd=acme)
        assert r.returncode == 0 and "No findings to report" in r.stdout and "suppressed" not in r.stdout, r.stdout + r.stderr


def test_the_bundled_schemas_accept_them(acme: Path) -> None:
    r = run(tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *WORKFLOWS, cwd=acme)
    assert r.returncode == 0 and "ok -- validation done" in r.stdout, r.stdout + r.stderr
    r = run(tool("check-jsonschema"), "--builtin-schema", "vendor.dependabot", ".github/dependabot.yml", cwd=acme)
    assert r.returncode == 0 and "ok -- validation done" in r.stdout, r.stdout + r.stderr


def test_pinned_least_privilege_time_limited(acme: Path) -> None:
    for path in WORKFLOWS:
        text = (acme / path).read_text()
        flow = yaml.safe_load(text)
        assert flow["permissions"] == {"contents": "read"}, path
        for name, job in flow["jobs"].items():
            assert 0 < job["timeout-minutes"] <= 30, (path, name)
            assert set((job.get("permissions") or {}).values()) <= {"read", "write"}
        uses = re.findall(r"uses: (\S+)(.*)", text)
        assert uses and all(re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", u) and re.fullmatch(r" # v\d+\.\d+\.\d+", c) for u, c in uses), uses
    ci = yaml.safe_load((acme / WORKFLOWS[0]).read_text())
    assert ci["concurrency"]["cancel-in-progress"] is True and set(ci[True]) == {"push", "pull_request"}  # YAML 1.1: on -> True
    steps = " ".join(s.get("run", "") for job in ci["jobs"].values() for s in job["steps"])
    for command in ("ruff check", "mypy", "hyper db check", "hyper owners --check", "tests/test_permissions.py", "hadolint Dockerfile",
                    "hyper k8s render", "kubernetes-validate", "checkov"):
        assert command in steps, command
    assert ci["jobs"]["test"]["services"]["postgres"]["image"].startswith("postgres:16@sha256:")
    deploy = yaml.safe_load((acme / WORKFLOWS[1]).read_text())
    assert deploy[True]["push"] == {"branches": ["main"]} and "version" in deploy[True]["workflow_dispatch"]["inputs"]
    dsteps = {s.get("name", ""): s for s in deploy["jobs"]["deploy"]["steps"]}
    assert "--status started" in dsteps["Record the release as started"]["run"]
    assert "rollout status" in dsteps["Migrate (the release's Job), then roll out"]["run"]
    assert dsteps["Record the release as succeeded or failed"]["if"].startswith("${{ always()")
    dependabot = yaml.safe_load((acme / ".github/dependabot.yml").read_text())
    assert {u["package-ecosystem"] for u in dependabot["updates"]} == {"pip", "github-actions"}


def test_the_deploy_release_steps_run_by_hand(acme: Path, tmp_path: Path) -> None:
    """As a new user would: the two `hyper release record` steps of deploy.yml, run with
    the variables the workflow sets, in a git checkout of the new project."""
    project = tmp_path / "acme"
    shutil.copytree(acme, project)
    git = lambda *a: subprocess.run(["git", *a], cwd=project, check=True, capture_output=True, text=True)  # noqa: E731
    git("init", "-q", "-b", "main")
    git("-c", "user.email=ada@acme.io", "-c", "user.name=Ada", "add", ".")
    git("-c", "user.email=ada@acme.io", "-c", "user.name=Ada", "commit", "-qm", "new project")
    (project / "acme/features/notes/__init__.py").write_text((project / "acme/features/notes/__init__.py").read_text() + "\n# v2\n")
    git("-c", "user.email=ada@acme.io", "-c", "user.name=Ada", "commit", "-qam", "notes: v2")
    sha = git("rev-parse", "HEAD").stdout.strip()
    env = {"HYPER_DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}", "HYPER_ENV": "test", "PYTHONPATH": str(project)}
    assert hyper("db", "upgrade", cwd=project, env=env).returncode == 0
    deploy = yaml.safe_load((project / WORKFLOWS[1]).read_text())
    steps = {s.get("name", ""): s["run"] for s in deploy["jobs"]["deploy"]["steps"] if "run" in s}
    variables = {**os.environ, **env, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "NO_COLOR": "1", "COLUMNS": "200",
                 "RELEASE_ID": "production-812-1", "HYPER_DEPLOY_ENV": "production", "VERSION": sha[:12], "SHA": sha,
                 "ROLLBACK": "false", "RANGE": f"{sha}~1..{sha}", "OUTCOME": "success"}
    variables.pop("HYPER_APP", None)
    for step in ("Record the release as started", "Record the release as succeeded or failed"):
        r = subprocess.run(["bash", "-e", "-c", steps[step]], cwd=project, env=variables, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
    r = hyper("release", "list", "--json", cwd=project, env=env)
    (d,) = yaml.safe_load(r.stdout)
    assert (d["id"], d["version"], d["status"], d["features"]) == ("production-812-1", sha[:12], "succeeded", ["notes"])
    assert [(c["sha"], c["author"], c["features"]) for c in d["commits"]] == [(sha, "ada@acme.io", ["notes"])]
    r = hyper("release", "dora", "--by", "owner", cwd=project, env=env)
    assert r.returncode == 0 and "ada@acme.io" in r.stdout and "1.0/week" not in r.stdout and "0.2/week" in r.stdout, r.stdout
