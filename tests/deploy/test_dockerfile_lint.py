"""The Dockerfiles, checked by the field's linters: hadolint and checkov (both from PyPI,
in the ``test`` extra). 0 findings, or each skipped with its reason in
``deploy-lint-skips.txt`` (tools ``hadolint`` and ``checkov-dockerfile``, the one list
every linter of the deploy files shares); a listed skip that no longer matches a finding fails too, so
the list cannot outlive its reasons."""

from __future__ import annotations

import fnmatch
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from containers import CI
from hyperdeliver.scaffold.new import new_project

REPO = Path(__file__).resolve().parents[2]
SKIPS = REPO / "deploy-lint-skips.txt"
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
    out = {}
    for line in SKIPS.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            parts = line.split(None, 3)
            assert len(parts) == 4 and len(parts[3].split()) >= 5, f"{SKIPS.name}: {line!r} needs tool, check, resource and a reason"
            if parts[0] == tool:
                out[parts[1]] = parts[2]
    return out


def test_every_skip_gives_its_reason() -> None:
    assert _skips("checkov-dockerfile")  # parsed, each line checked for its four fields


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
    """What the linters do not check: the base as a build argument, a numeric non-root
    user, the serve command in exec form, /tmp as the only state, no migrations on boot."""
    for which, path in dockerfiles.items():
        text = path.read_text()
        lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
        assert lines[0].startswith("ARG BASE=") and ":" in lines[0].split("=", 1)[1], which
        assert [line for line in lines if line.startswith("FROM")] == ["FROM ${BASE} AS build", "FROM ${BASE}"], which
        assert [line for line in lines if line.startswith("USER")] == ["USER 10001:10001"], which
        assert lines[-1] == 'CMD ["hyper", "serve"]', which
        assert "HYPER_VAR_DIR=/tmp/" in text and "ENTRYPOINT" not in text, which
        assert "db upgrade" not in "\n".join(lines), which
        assert "--no-index" in text and "SECRET" not in "\n".join(lines).upper(), which  # no index, no credentials
