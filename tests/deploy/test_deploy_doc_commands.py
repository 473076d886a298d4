"""docs/deploy.md's commands work."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from deployhelpers import hyper

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "deploy.md").read_text()


def _commands(prefix: str) -> list[list[str]]:
    blocks = re.findall(r"```console\n(.*?)```", DOC, re.S)
    lines = [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]
    return [shlex.split(line)[1:] for line in lines if line.startswith(prefix)]


def test_the_render_command_of_the_docs_writes_what_the_docs_list(tmp_path: Path) -> None:
    [args] = _commands("hyper k8s render")
    run = hyper(*args, cwd=tmp_path, app="hyperdeliver.demo.teamboard.app:create_app")
    assert run.returncode == 0, run.stderr
    base = tmp_path / "deploy" / "k8s" / "base"
    listed = set(re.findall(r"\b([a-z-]+\.yaml)\b", DOC.split("## Render the manifests")[1].split("| option |")[0]))
    written = {p.name for p in base.iterdir()} - {"kustomization.yaml"}
    optional = {"web-hpa.yaml", "scheduler-deployment.yaml"}
    assert written - {n for n in written if n.startswith("cronjob-")} == listed - optional - {"cronjob-.yaml"}
    assert any(n.startswith("cronjob-") for n in written)


def test_the_check_commands_of_the_docs_run(tmp_path: Path) -> None:
    commands = _commands("hyper check")
    assert len(commands) == 3
    for args in commands:
        run = hyper(*args, cwd=tmp_path, app="hyperdeliver.demo.teamboard.app:create_app", HYPER_DATABASE_URL="postgresql://u@127.0.0.1:1/x")
        assert run.returncode in (0, 1) and run.stderr == "", (args, run.stderr)
        assert "hd.E000" not in run.stdout and "hd.E100" not in run.stdout, run.stdout
