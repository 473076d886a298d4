"""The rendered manifests through the field's own linters (installed by the test extra):
``kubernetes-validate --strict`` against two Kubernetes versions, and ``checkov`` with 0
findings; the ones kept are skipped by checkov.io/skipN annotations that hyper k8s render
writes from the one list, deploy-lint-skips.txt, with its reasons.

The overlays are built with ``kubectl kustomize`` (kustomize inside kubectl) when kubectl
is installed, and the built manifests linted too; without kubectl only the base is.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hyperdeliver import App
from hyperdeliver.deploy.k8s import K8sOptions, render, write
from hyperdeliver.deploy.lint_skips import lint_skips, skips_file

ROOT = Path(__file__).resolve().parents[2]

BIN = Path(sys.executable).parent
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")
"""The oldest and newest versions kubernetes-validate 1.37 ships schemas for, of those we support
(CronJob timeZone is GA since 1.27)."""
KUBECTL = shutil.which("kubectl")


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


def _checkov(folder: Path, *args: str) -> dict[str, Any]:
    run = subprocess.run(
        [str(BIN / "checkov"), "-d", str(folder), "--framework", "kubernetes", "-o", "json", "--skip-download", *args],
        capture_output=True, text=True, timeout=600,
    )
    assert run.stdout.strip(), run.stderr
    report = json.loads(run.stdout)
    assert isinstance(report, dict), "one framework, one report"
    return report


def test_checkov_finds_nothing_and_skips_only_the_listed_findings(manifests: Path) -> None:
    report = _checkov(manifests)
    summary = report["summary"]
    assert summary["parsing_errors"] == 0 and summary["resource_count"] > 40, summary
    failed = [(f["check_id"], f["resource"], f["file_path"]) for f in report["results"]["failed_checks"]]
    assert failed == [], f"checkov findings: {failed}"
    assert summary["passed"] > 100
    listed = lint_skips("checkov")
    skipped = report["results"]["skipped_checks"]
    for s in skipped:
        reasons = [k.reason for k in listed if k.check == s["check_id"] and k.matches(s["resource"])]
        assert reasons == [s["check_result"]["suppress_comment"]], f"{s['check_id']} on {s['resource']} is skipped, but not as listed"
    stale = [(k.check, k.resource) for k in listed if not any(s["check_id"] == k.check and k.matches(s["resource"]) for s in skipped)]
    assert stale == [], f"deploy-lint-skips.txt lists checkov skips no resource needs: {stale}"


def test_checkov_fails_what_is_not_listed(manifests: Path, tmp_path: Path) -> None:
    """The skips are per check and resource: a web pod allowed to escalate privileges fails."""
    web = (manifests / "rendered" / "teamboard" / "base" / "web-deployment.yaml").read_text()
    (tmp_path / "web.yaml").write_text(web.replace("allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true"))
    report = _checkov(tmp_path)
    assert "CKV_K8S_20" in {f["check_id"] for f in report["results"]["failed_checks"]}


def test_a_digest_passes_the_digest_check_unskipped(tmp_path: Path, teamboard_app: App, render_app: Callable[..., dict[str, str]]) -> None:
    """CKV_K8S_43 is skipped because a tag is accepted; with a digest it passes by itself."""
    write(render_app(teamboard_app, image="registry.example.com/teamboard:1.4.0@sha256:" + "ab" * 32), tmp_path / "k8s")
    summary = _checkov(tmp_path / "k8s", "--check", "CKV_K8S_43")["summary"]
    assert summary["failed"] == 0 and summary["skipped"] == 0 and summary["passed"] >= 5, summary


def test_the_list_is_well_formed() -> None:
    skips = lint_skips()
    assert skips and all(len(s.reason) > 20 and " " not in s.check for s in skips)
    assert (ROOT / "deploy-lint-skips.txt").resolve() == skips_file().resolve()


def test_the_documented_own_kustomization_builds_on_an_overlay(manifests: Path, tmp_path: Path) -> None:
    """docs/deploy.md's kustomization of one's own: the rendered overlay plus an Ingress, built."""
    if KUBECTL is None:
        pytest.skip("kubectl is not installed: kustomize builds are not tested here")
    import re

    import yaml

    doc = (ROOT / "docs" / "deploy.md").read_text()
    [block] = re.findall(r"```yaml\n(# deploy/production/kustomization.yaml.*?)```", doc, re.S)
    shutil.copytree(manifests / "rendered" / "teamboard", tmp_path / "deploy" / "k8s")
    own = tmp_path / "deploy" / "production"
    own.mkdir()
    (own / "kustomization.yaml").write_text(block)
    (own / "ingress.yaml").write_text(
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: teamboard\nspec:\n  defaultBackend:\n"
        "    service:\n      name: teamboard-web\n      port:\n        name: http\n"
    )
    built = subprocess.run([KUBECTL, "kustomize", str(own)], capture_output=True, text=True, timeout=120)
    assert built.returncode == 0, built.stderr
    docs = [d for d in yaml.safe_load_all(built.stdout) if d]
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
    assert {("Ingress", "teamboard"), ("Deployment", "teamboard-web"), ("Namespace", "teamboard-production")} <= kinds
    assert {d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"} == {"teamboard-production"}
