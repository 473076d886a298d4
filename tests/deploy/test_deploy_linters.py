"""The rendered manifests through the field's own linters (installed by the test extra):
``kubernetes-validate --strict`` against two Kubernetes versions, and ``checkov`` with 0
findings except those named, with their reasons, in deploy-lint-skips.txt.

The overlays are built with ``kubectl kustomize`` (kustomize inside kubectl) when kubectl
is installed, and the built manifests linted too; without kubectl only the base is.
"""

from __future__ import annotations

import fnmatch
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from hyperdeliver import App
from hyperdeliver.deploy.k8s import K8sOptions, render, write

ROOT = Path(__file__).resolve().parents[2]
SKIPS = ROOT / "deploy-lint-skips.txt"
BIN = Path(sys.executable).parent
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")
"""The oldest and newest versions kubernetes-validate 1.37 ships schemas for, of those we support
(CronJob timeZone is GA since 1.27)."""
KUBECTL = shutil.which("kubectl")


def skips(tool: str) -> list[tuple[str, str, str]]:
    """``(check, resource glob, reason)`` of one tool in deploy-lint-skips.txt."""
    out = []
    for line in SKIPS.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split(None, 3)
        assert len(parts) == 4 and len(parts[3]) > 20, f"deploy-lint-skips.txt: {line!r} needs tool, check, resource and a reason"
        if parts[0] == tool:
            out.append((parts[1], parts[2], parts[3]))
    return out


@pytest.fixture(scope="module")
def manifests(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Teamboard plainly and with an HPA and the scheduler Deployment, and the two-cron
    app (with and without its seconds cron), each written as hyper k8s render writes it,
    plus every overlay built by kustomize."""
    import cronapp

    from deployhelpers import IMAGE, TEAMBOARD_SPEC, settings
    from hyperdeliver.demo.teamboard.app import create_app

    root = tmp_path_factory.mktemp("manifests")
    teamboard = create_app(settings())
    renders = {
        "teamboard": render(teamboard, K8sOptions(image=IMAGE, app_spec=TEAMBOARD_SPEC)),
        "teamboard-hpa": render(teamboard, K8sOptions(image=IMAGE, app_spec=TEAMBOARD_SPEC, hpa=True, scheduler="deployment")),
        "cronshop": render(cronapp.create_app(settings()), K8sOptions(image=IMAGE)),
        "cronshop-seconds": render(cronapp.create_app_with_seconds(settings()), K8sOptions(image=IMAGE, scheduler="deployment")),
    }
    for name, files in renders.items():
        write(files, root / "rendered" / name)
        if KUBECTL:
            for env in ("staging", "production"):
                built = subprocess.run(
                    [KUBECTL, "kustomize", str(root / "rendered" / name / "overlays" / env)],
                    capture_output=True, text=True, timeout=120,
                )
                assert built.returncode == 0, built.stderr
                target = root / "built" / name / f"{env}.yaml"
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(built.stdout)
    return root


def _resources(root: Path) -> list[str]:
    """Every manifest file but kustomize's own."""
    return sorted(str(p) for p in root.rglob("*.yaml") if p.name != "kustomization.yaml")


def test_overlays_build_into_their_namespace_with_their_replicas(manifests: Path) -> None:
    if KUBECTL is None:
        pytest.skip("kubectl is not installed: the overlays are not built with kustomize here (the base is still linted)")
    import yaml

    for env, web, worker in (("staging", 2, 1), ("production", 3, 2)):
        docs = [d for d in yaml.safe_load_all((manifests / "built" / "teamboard" / f"{env}.yaml").read_text()) if d]
        namespaced = [d for d in docs if d["kind"] != "Namespace"]
        assert {d["metadata"]["namespace"] for d in namespaced} == {f"teamboard-{env}"}
        assert [d["metadata"]["name"] for d in docs if d["kind"] == "Namespace"] == [f"teamboard-{env}"]
        replicas = {d["metadata"]["name"]: d["spec"]["replicas"] for d in docs if d["kind"] == "Deployment"}
        assert replicas == {"teamboard-web": web, "teamboard-worker": worker}
        assert all(d["metadata"]["labels"]["hyperdeliver.dev/environment"] == env for d in docs)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_kubernetes_validate_strict(version: str, manifests: Path) -> None:
    files = _resources(manifests)
    assert len(files) > 40
    run = subprocess.run(
        [str(BIN / "kubernetes-validate"), "--strict", "--quiet", "-k", version, *files],
        capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "ERROR" not in run.stdout and "WARN" not in run.stdout, run.stdout


def test_kubernetes_validate_catches_an_unknown_field(manifests: Path, tmp_path: Path) -> None:
    """The linter is live: a misspelt field in a rendered Deployment fails --strict."""
    web = (manifests / "rendered" / "teamboard" / "base" / "web-deployment.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(web.replace("      maxSurge: 1", "      maxSurge: 1\n      maxSurges: 2"))
    run = subprocess.run([str(BIN / "kubernetes-validate"), "--strict", "--quiet", str(bad)], capture_output=True, text=True, timeout=120)
    assert run.returncode != 0 and "maxSurges" in run.stdout


def test_checkov_finds_nothing_but_the_listed_skips(manifests: Path) -> None:
    run = subprocess.run(
        [str(BIN / "checkov"), "-d", str(manifests), "--framework", "kubernetes", "-o", "json", "--quiet", "--skip-download"],
        capture_output=True, text=True, timeout=600,
    )
    assert run.stdout.strip(), run.stderr
    report = json.loads(run.stdout)
    reports = report if isinstance(report, list) else [report]
    summary = reports[0]["summary"]
    assert summary["parsing_errors"] == 0 and summary["resource_count"] > 40, summary
    failed = [(f["check_id"], f["resource"], f["file_path"]) for r in reports for f in r["results"]["failed_checks"]]
    allowed = skips("checkov")
    unexplained = [f for f in failed if not any(f[0] == c and fnmatch.fnmatchcase(f[1], g) for c, g, _ in allowed)]
    assert unexplained == [], "checkov findings not in deploy-lint-skips.txt: " + "; ".join(map(str, unexplained))
    stale = [(c, g) for c, g, _ in allowed if not any(f[0] == c and fnmatch.fnmatchcase(f[1], g) for f in failed)]
    assert stale == [], f"deploy-lint-skips.txt lists checkov skips no finding needs: {stale}"
    assert summary["passed"] > 100


def test_checkov_passes_the_digest_check_for_a_digest(tmp_path: Path, teamboard_app: App, render_app: Callable[..., dict[str, str]]) -> None:
    """CKV_K8S_43 is skipped because a tag is accepted; with a digest it passes by itself."""
    write(render_app(teamboard_app, image="registry.example.com/teamboard:1.4.0@sha256:" + "ab" * 32), tmp_path / "k8s")
    run = subprocess.run(
        [str(BIN / "checkov"), "-d", str(tmp_path / "k8s"), "--framework", "kubernetes", "-o", "json", "--check", "CKV_K8S_43", "--skip-download"],
        capture_output=True, text=True, timeout=600,
    )
    report = json.loads(run.stdout)
    assert report["summary"]["failed"] == 0 and report["summary"]["passed"] >= 5, report["summary"]
