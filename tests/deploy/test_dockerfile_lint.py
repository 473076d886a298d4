"""The Dockerfiles, checked by the field's linters: hadolint and checkov (both from PyPI,
in the ``test`` extra). 0 findings, or each skipped with its reason in
``deploy-lint-skips.txt`` (tools ``hadolint`` and ``checkov-dockerfile``, in the one
list every linter of the deploy files shares; none today); a listed skip that no longer matches a finding fails too, so
the list cannot outlive its reasons."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from containers import CI
from hyperdeliver.scaffold.new import new_project

REPO = Path(__file__).resolve().parents[2]
SKIPS = REPO / "deploy-lint-skips.txt"
"""Shared with the Kubernetes manifests' linters (``tool check resource reason`` a line);
no file, no skips."""
BIN = Path(sys.executable).parent


def _tool(name: str) -> Path:
    path = BIN / name
    if not path.exists():
        reason = f"{name} is not installed (pip install -e '.[test]')"
        if CI:
            pytest.fail(reason)
        pytest.skip(reason)
    return path


@pytest.fixture(scope="module")
def dockerfiles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The generated project's Dockerfile and the demo's (this repo's root)."""
    acme = new_project("acme", tmp_path_factory.mktemp("lint") / "acme", owner="ada@acme.io", git=False)
    return {"generated": acme / "Dockerfile", "demo": REPO / "Dockerfile"}


def _skips(tool: str) -> dict[str, str]:
    """``{check: resource glob}`` of one tool's lines (``tool check resource reason``)."""
    out: dict[str, str] = {}
    for line in (SKIPS.read_text() if SKIPS.is_file() else "").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            parts = line.split(None, 3)
            assert len(parts) == 4 and len(parts[3].split()) >= 5, f"{SKIPS.name}: {line!r} needs tool, check, resource and a reason"
            if parts[0] == tool:
                out[parts[1]] = parts[2]
    return out


def test_every_skip_gives_its_reason() -> None:
    _skips("hadolint")  # every line of the list is checked for its four fields on the way


@pytest.mark.parametrize("which", ["generated", "demo"])
def test_hadolint_finds_nothing_unexplained(dockerfiles: dict[str, Path], which: str) -> None:
    r = subprocess.run([str(_tool("hadolint")), "--no-color", "--format", "json", str(dockerfiles[which])],
                       capture_output=True, text=True, timeout=120)
    findings = {f["code"]: f"{f['line']}: {f['message']}" for f in json.loads(r.stdout or "[]")}
    skips = _skips("hadolint")
    assert {code: msg for code, msg in findings.items() if code not in skips} == {}  # (line numbers: skips are per check)
    assert set(skips) <= set(findings), f"skips that match no finding any more: {sorted(set(skips) - set(findings))}"


@pytest.mark.parametrize("which", ["generated", "demo"])
def test_checkov_finds_nothing_unexplained(dockerfiles: dict[str, Path], which: str) -> None:
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    r = subprocess.run(
        [str(_tool("checkov")), "--framework", "dockerfile", "--file", str(dockerfiles[which]), "--skip-download",
         "--quiet", "--compact", "--output", "json"],
        capture_output=True, text=True, timeout=300, env=env,
    )
    assert r.returncode in (0, 1), r.stderr[-3000:]
    report = json.loads(r.stdout)
    failed = [(c["check_id"], c["resource"], c["check_name"]) for c in report["results"]["failed_checks"]]
    assert report["summary"]["passed"] > 10  # it did check something
    skips = _skips("checkov-dockerfile")
    assert [f for f in failed if not fnmatch.fnmatchcase(f[1], skips.get(f[0], "\0"))] == []
    stale = sorted(set(skips) - {f[0] for f in failed})
    assert stale == [], f"skips that match no finding any more: {stale}"


def test_the_dockerfiles_keep_their_contract(dockerfiles: dict[str, Path]) -> None:
    """What the linters do not check: the base as build arguments (a tag required), a
    numeric non-root user, the serve command in exec form, /tmp as the only state, no
    migrations on boot."""
    for which, path in dockerfiles.items():
        text = path.read_text()
        lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
        assert lines[0] == "ARG BASE_IMAGE=docker.io/library/python" and re.fullmatch(r"ARG BASE_TAG=3\.\d+-slim-bookworm", lines[1]), which
        assert [line for line in lines if line.startswith("FROM")] == ["FROM ${BASE_IMAGE}:${BASE_TAG} AS build", "FROM ${BASE_IMAGE}:${BASE_TAG}"], which
        assert [line for line in lines if line.startswith("USER")] == ["USER 10001:10001"], which
        assert lines[-1] == 'CMD ["hyper", "serve"]', which
        assert "HYPER_VAR_DIR=/tmp/" in text and "ENTRYPOINT" not in text, which
        assert "db upgrade" not in "\n".join(lines), which
        assert "--no-index" in text and "SECRET" not in "\n".join(lines).upper(), which  # no index, no credentials


def test_the_generated_deploy_workflow_builds_the_wheelhouse_before_the_image(dockerfiles: dict[str, Path]) -> None:
    import yaml

    workflow = yaml.safe_load((dockerfiles["generated"].parent / ".github/workflows/deploy.yml").read_text())
    steps = workflow["jobs"]["build"]["steps"]
    wheel = next(i for i, s in enumerate(steps) if "pip wheel --wheel-dir wheels ." in s.get("run", ""))
    build = next(i for i, s in enumerate(steps) if "build-push-action" in s.get("uses", ""))
    assert wheel < build and steps[build]["with"]["context"] == "."
