"""``hyper k8s render`` as a user runs it: files written, and bad input as one line and a non-zero exit."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from deployhelpers import hyper


def test_render_writes_base_and_overlays(tmp_path: Path) -> None:
    run = hyper("k8s", "render", "--image", "ghcr.io/acme/cronshop:2.0.1", "--set", "HYPER_WORKER_CONCURRENCY=25", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    out = tmp_path / "deploy" / "k8s"
    assert "2 CronJob(s)" in run.stdout and "kubectl apply -k deploy/k8s/overlays/staging" in run.stdout
    assert sorted(p.name for p in (out / "overlays").iterdir()) == ["production", "staging"]
    base = yaml.safe_load((out / "base" / "kustomization.yaml").read_text())
    assert all((out / "base" / r).is_file() for r in base["resources"])
    config = yaml.safe_load((out / "base" / "configmap.yaml").read_text())["data"]
    assert config["HYPER_APP"] == "cronapp:create_app" and config["HYPER_RELEASE"] == "2.0.1"
    assert config["HYPER_WORKER_CONCURRENCY"] == "25"


def test_render_again_replaces_what_it_wrote(tmp_path: Path) -> None:
    """A cron that went away leaves no CronJob behind; an overlay not rendered now stays."""
    out = tmp_path / "k8s"
    assert hyper("k8s", "render", "--image", "cronshop:1", "--out", str(out), cwd=tmp_path).returncode == 0
    stale = out / "base" / "cronjob-removed-cron.yaml"
    stale.write_text("kind: CronJob\n")
    mine = out / "overlays" / "production" / "ingress.yaml"
    mine.write_text("kind: Ingress\n")
    run = hyper("k8s", "render", "--image", "cronshop:2", "--out", str(out), "--env", "staging", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert not stale.exists() and mine.exists()
    assert "cronshop:2" in (out / "base" / "web-deployment.yaml").read_text()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ((), "k8s render needs --image"),
        (("--image", "cronshop"), "--image 'cronshop' has no tag or digest"),
        (("--image", "cronshop:1", "--env", "qa"), "--env 'qa' is not an environment: use staging or production"),
        (("--image", "cronshop:latest"), "'latest' names no release"),
        (("--image", "cronshop:1", "--scheduler", "k8s"), "--scheduler 'k8s': use cronjob or deployment"),
        (("--image", "cronshop:1", "--set", "HYPER_SECRET_KEY=hunter2"), "--set HYPER_SECRET_KEY: a secret never goes in the manifests"),
        (("--image", "cronshop:1", "--set", "WORKERS=3"), "--set 'WORKERS': settings are HYPER_* variables"),
        (("--image", "cronshop:1", "--set", "HYPER_WORKERS"), "--set 'HYPER_WORKERS': use HYPER_NAME=value"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(args: tuple[str, ...], says: str, tmp_path: Path) -> None:
    run = hyper("k8s", "render", *args, cwd=tmp_path)
    assert run.returncode == 1
    assert run.stderr == f"hyper: {run.stderr.removeprefix('hyper: ').strip()}\n" and says in run.stderr, run.stderr
    assert "Traceback" not in run.stderr and not (tmp_path / "deploy").exists()


def test_a_seconds_cron_is_one_line_unless_the_scheduler_runs_it(tmp_path: Path) -> None:
    run = hyper("k8s", "render", "--image", "cronshop:1", cwd=tmp_path, app="cronapp:create_app_with_seconds")
    assert run.returncode == 1 and len(run.stderr.splitlines()) == 1
    assert "fast.every_ten_seconds" in run.stderr and "seconds field" in run.stderr and "--scheduler deployment" in run.stderr
    run = hyper("k8s", "render", "--image", "cronshop:1", "--scheduler", "deployment", cwd=tmp_path, app="cronapp:create_app_with_seconds")
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "deploy" / "k8s" / "base" / "scheduler-deployment.yaml").is_file()
