"""The Dockerfiles, checked by the field's linters: hadolint and checkov (both from PyPI,
in the ``test`` extra). 0 findings, or each skipped with its reason in
``deploy/lint-skips.toml``; a listed skip that no longer matches a finding fails too, so
the list cannot outlive its reasons."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from containers import CI
from hyperdeliver.scaffold.new import new_project

REPO = Path(__file__).resolve().parents[2]
SKIPS = tomllib.loads((REPO / "deploy/lint-skips.toml").read_text())
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
    return dict(SKIPS.get(tool, {}).get("dockerfile", {}))


def test_every_skip_gives_its_reason() -> None:
    for tool in ("hadolint", "checkov"):
        for check, reason in _skips(tool).items():
            assert isinstance(reason, str) and len(reason.split()) >= 5, f"{tool} {check}: say why it is skipped"


@pytest.mark.parametrize("which", ["generated", "demo"])
def test_hadolint_finds_nothing_unexplained(dockerfiles: dict[str, Path], which: str) -> None:
    r = subprocess.run([str(_tool("hadolint")), "--no-color", "--format", "json", str(dockerfiles[which])],
                       capture_output=True, text=True, timeout=120)
    findings = {f["code"]: f"{f['line']}: {f['message']}" for f in json.loads(r.stdout or "[]")}
    skips = _skips("hadolint")
    assert {code: msg for code, msg in findings.items() if code not in skips} == {}
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
    failed = {c["check_id"]: c["check_name"] for c in report["results"]["failed_checks"]}
    assert report["summary"]["passed"] > 10  # it did check something
    skips = _skips("checkov")
    assert {check: name for check, name in failed.items() if check not in skips} == {}
    assert set(skips) <= set(failed), f"skips that match no finding any more: {sorted(set(skips) - set(failed))}"


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
