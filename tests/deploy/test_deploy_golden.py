"""Golden files: teamboard's manifests, one file per manifest kind, compared byte for byte:
the repository's own ``deploy/k8s`` (what the README's ``hyper k8s render --image
teamboard:0.1.0`` writes), and in tests/deploy/golden/ the render with ``--hpa --scheduler
deployment``, which adds an HPA and a scheduler Deployment. A change to a template shows
up here as a diff to review.

Regenerate after an intended change: ``HYPER_UPDATE_GOLDEN=1 pytest tests/deploy/test_deploy_golden.py``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from hyperdeliver import App

ROOT = Path(__file__).resolve().parents[2]
UPDATE = os.environ.get("HYPER_UPDATE_GOLDEN", "") not in ("", "0")
README_IMAGE = "teamboard:0.1.0"
VARIANTS: dict[str, dict[str, object]] = {
    "teamboard": {"image": README_IMAGE},
    "teamboard-hpa-scheduler": {"hpa": True, "scheduler": "deployment"},
}
FOLDERS = {"teamboard": ROOT / "deploy" / "k8s", "teamboard-hpa-scheduler": Path(__file__).parent / "golden" / "teamboard-hpa-scheduler"}


def _expected(variant: str) -> list[str]:
    root = FOLDERS[variant]
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.yaml")) if root.is_dir() else []


CASES = [(v, rel) for v in VARIANTS for rel in _expected(v)]


@pytest.fixture
def rendered(teamboard_app: App, render_app: Callable[..., dict[str, str]]) -> Callable[[str], dict[str, str]]:
    cache: dict[str, dict[str, str]] = {}

    def get(variant: str) -> dict[str, str]:
        if variant not in cache:
            cache[variant] = render_app(teamboard_app, **VARIANTS[variant])
            if UPDATE:
                import shutil

                shutil.rmtree(FOLDERS[variant], ignore_errors=True)
                for rel, text in cache[variant].items():
                    (FOLDERS[variant] / rel).parent.mkdir(parents=True, exist_ok=True)
                    (FOLDERS[variant] / rel).write_text(text)
        return cache[variant]

    return get


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_the_same_files_are_rendered(variant: str, rendered: Callable[[str], dict[str, str]]) -> None:
    """No manifest appears or disappears unnoticed."""
    assert sorted(rendered(variant)) == _expected(variant)


@pytest.mark.parametrize(("variant", "rel"), CASES, ids=[f"{v}/{r}" for v, r in CASES])
def test_manifest_matches_its_golden_file(variant: str, rel: str, rendered: Callable[[str], dict[str, str]]) -> None:
    assert rendered(variant)[rel] == (FOLDERS[variant] / rel).read_text(), f"{variant}/{rel} changed: review, then HYPER_UPDATE_GOLDEN=1"


def test_every_kind_has_a_golden_file() -> None:
    import yaml

    kinds = {
        doc["kind"]
        for v in VARIANTS
        for p in FOLDERS[v].rglob("*.yaml")
        for doc in yaml.safe_load_all(p.read_text())
        if doc
    }
    assert kinds == {
        "Namespace", "ServiceAccount", "ConfigMap", "NetworkPolicy", "Deployment", "Service", "PodDisruptionBudget",
        "HorizontalPodAutoscaler", "Job", "CronJob", "Kustomization",
    }


@pytest.mark.integration  # runs hyper
def test_the_readme_command_writes_the_repository_manifests(tmp_path: Path) -> None:
    """``hyper k8s render --image teamboard:0.1.0`` at the repository's root (the app from
    pyproject.toml) writes exactly deploy/k8s."""
    from deployhelpers import hyper

    readme = (ROOT / "README.md").read_text()
    assert f"hyper k8s render --image {README_IMAGE}" in readme
    run = hyper("k8s", "render", "--image", README_IMAGE, "--out", str(tmp_path / "k8s"), cwd=ROOT, app="",
                HYPER_VAR_DIR=str(tmp_path / "var"))
    assert run.returncode == 0, run.stderr
    written = {str(p.relative_to(tmp_path / "k8s")): p.read_text() for p in (tmp_path / "k8s").rglob("*.yaml")}
    assert written == {rel: (FOLDERS["teamboard"] / rel).read_text() for rel in _expected("teamboard")}
