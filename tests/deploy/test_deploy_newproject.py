"""A project made by ``hyper new``: the manifest commands its README gives work in it (the
README's Secret name is the one the manifests refer to). Fast: the project's package is
imported from its folder by this test's hyper, with no virtualenv of its own (the slow
end-to-end run of the README is tests/scaffold/test_scaffold_newproject.py)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

from deployhelpers import hyper


def test_the_readme_render_command_works_in_a_new_project(tmp_path: Path) -> None:
    made = hyper("new", "my_shop", "--owner", "ada@example.com", cwd=tmp_path, app="")
    assert made.returncode == 0, made.stderr
    project = tmp_path / "my_shop"
    readme = (project / "README.md").read_text()
    section = readme.split("### Kubernetes manifests")[1]
    commands = [line.split("  #")[0].strip() for line in re.findall(r"```console\n(.*?)```", section, re.S)[0].splitlines()]
    render = next(shlex.split(c) for c in commands if c.startswith("./dev hyper k8s render"))
    run = hyper(*render[2:], cwd=project, app="")
    assert run.returncode == 0, run.stderr
    base = project / "deploy" / "k8s" / "base"
    config = yaml.safe_load((base / "configmap.yaml").read_text())["data"]
    assert config["HYPER_APP"] == "my_shop.app:create_app" and config["HYPER_RELEASE"] == "0.1.0"
    assert [p.name for p in base.glob("cronjob-*.yaml")], "the example feature's cron has a CronJob"
    web = yaml.safe_load((base / "web-deployment.yaml").read_text())
    [secret] = {e["valueFrom"]["secretKeyRef"]["name"] for e in web["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert f"Secret `{secret}`" in section
    assert any(c.startswith("./dev hyper check --deploy") for c in commands)


def test_the_project_ci_manifest_steps_pass(tmp_path: Path) -> None:
    """The generated CI workflow's steps on the manifests (render, kubernetes-validate,
    checkov on the Kubernetes files) run as written and pass in a new project."""
    import os
    import subprocess
    import sys

    assert hyper("new", "acme", "--owner", "ada@example.com", cwd=tmp_path, app="").returncode == 0
    project = tmp_path / "acme"
    ci = yaml.safe_load((project / ".github" / "workflows" / "ci.yml").read_text())
    steps = {s.get("name", ""): s["run"] for job in ci["jobs"].values() for s in job["steps"] if "run" in s}
    # By name: the step that installs the linters must not run here (it would pip install into this virtualenv).
    render = steps["Render the manifests"]
    validate = steps["Validate the manifests against the Kubernetes schemas"]
    checkov = steps["Policy checks (checkov)"]
    assert render.startswith("hyper k8s render") and "kubernetes-validate --strict" in validate and checkov.startswith("checkov ")
    # The Dockerfile half of the checkov step belongs to the container image's tests.
    checkov = re.sub(r"\s+-f Dockerfile --framework dockerfile", "", checkov)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYPER_")}
    env |= {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}", "GITHUB_REPOSITORY": "Acme-Org/acme", "HYPER_VAR_DIR": str(tmp_path / "var")}
    for run in (render, validate, checkov):
        done = subprocess.run(["bash", "-e", "-c", run], cwd=project, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{run}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert "ghcr.io/acme-org/acme:ci" in (project / "deploy" / "k8s" / "base" / "web-deployment.yaml").read_text()
