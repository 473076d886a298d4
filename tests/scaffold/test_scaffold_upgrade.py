"""``hyper upgrade``: a newer template merged three ways into a project the team has edited.

The newer template is simulated by a modified copy of the shipped one, handed to the
renderer (in the CLI tests, through the function ``hyper upgrade`` asks for it).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from scaffoldhelpers import assert_one_line_error, hyper, snapshot
from typer.testing import CliRunner

from hyperdeliver.cli.main import cli
from hyperdeliver.scaffold import upgrade as upgrade_module
from hyperdeliver.scaffold.new import Template, new_project, project_template
from hyperdeliver.scaffold.project import Project
from hyperdeliver.scaffold.upgrade import upgrade_project

OWNERS_LINE = "`./dev hyper owners` lists every feature with its owner and folder, and writes one\n"
NEW_OWNERS_LINE = "`./dev hyper owners` lists each feature, its owner and its folder, and writes one\n"
ROLES_DOC = '"""The role hierarchy, lowest first:'
NEW_ROLES_DOC = '"""Roles, lowest first:'


@pytest.fixture
def acme(tmp_path: Path) -> Path:
    return new_project("acme", tmp_path / "acme", owner="ada@acme.io", git=False)


@pytest.fixture
def newer(tmp_path: Path) -> Template:
    """Template version N+1: a README line and app.py's docstring reworded, a file added,
    the seed's comment changed."""
    shipped = project_template()
    root = tmp_path / "template-next"
    shutil.copytree(shipped.root, root, ignore=shutil.ignore_patterns("__pycache__"))
    _replace(root / "README.md.j2", OWNERS_LINE, NEW_OWNERS_LINE)
    _replace(root / "__package__/app.py.j2", ROLES_DOC, NEW_ROLES_DOC)
    _replace(root / "__package__/seed.py.j2", "Development data.", "Development data (dev only).")
    (root / "docs").mkdir()
    (root / "docs/welcome.md.j2").write_text("# Welcome to {{ title }}\n")
    return Template(root, shipped.version + 1)


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def _upgrade_cli(monkeypatch: pytest.MonkeyPatch, project: Path, template: Template) -> tuple[int, str]:
    monkeypatch.chdir(project)
    monkeypatch.setattr(upgrade_module, "project_template", lambda: template)
    result = CliRunner().invoke(cli, ["upgrade"], env={"COLUMNS": "200", "NO_COLOR": "1"})
    return result.exit_code, result.output


def test_a_non_overlapping_edit_is_kept_and_the_template_change_applied(
    acme: Path, newer: Template, monkeypatch: pytest.MonkeyPatch
) -> None:
    readme = acme / "README.md"
    readme.write_text(readme.read_text().replace("## Layout\n", "## Layout\n\nOur own words about the layout.\n"))
    mine = acme / "acme/features/invoices.py"
    mine.write_text("# a file of the team's own\n")
    before = snapshot(acme)

    code, output = _upgrade_cli(monkeypatch, acme, newer)

    assert code == 0, output
    text = readme.read_text()
    assert "Our own words about the layout." in text and NEW_OWNERS_LINE in text and OWNERS_LINE not in text
    assert NEW_ROLES_DOC in (acme / "acme/app.py").read_text()
    assert (acme / "docs/welcome.md").read_text() == "# Welcome to Acme\n"
    assert "updated  README.md" in output and "added    docs/welcome.md" in output
    assert f"upgraded to template {newer.version}" in output
    after = snapshot(acme)
    changed = {path for path in after if before.get(path) != after[path]}
    assert {p for p in changed if not p.startswith(".hyper/")} == {"README.md", "acme/app.py", "acme/seed.py", "docs/welcome.md"}
    # Everything else, generated or the team's own, is byte for byte and mtime for mtime as it was.
    assert all(after[p] == before[p] for p in before if p not in changed)
    project = Project.find(acme)
    assert project.record.template_version == newer.version
    assert (project.base_dir / "README.md").read_text() == readme.read_text().replace("\nOur own words about the layout.\n", "")


def test_an_overlapping_edit_leaves_markers_exits_1_and_finishes_once_resolved(
    acme: Path, newer: Template, monkeypatch: pytest.MonkeyPatch
) -> None:
    readme = acme / "README.md"
    readme.write_text(readme.read_text().replace(OWNERS_LINE, "`./dev hyper owners` is how we keep reviews honest, and writes one\n"))
    old_version = Project.find(acme).record.template_version

    code, output = _upgrade_cli(monkeypatch, acme, newer)

    assert code == 1
    assert [line for line in output.splitlines() if line.startswith("conflict")] == [
        "conflict README.md: resolve the <<<<<<< markers, then run 'hyper upgrade' again"
    ]
    text = readme.read_text()
    assert "<<<<<<< README.md (yours)\n`./dev hyper owners` is how we keep reviews honest" in text
    assert f"=======\n{NEW_OWNERS_LINE}>>>>>>> README.md (template {newer.version})\n" in text
    assert NEW_ROLES_DOC in (acme / "acme/app.py").read_text()  # what merged cleanly is written
    project = Project.find(acme)
    assert project.record.template_version == old_version  # not upgraded until resolved
    assert (project.pending_dir / "README.md").is_file()

    # Still conflicted: a second run touches nothing and fails again.
    before = snapshot(acme)
    code, output = _upgrade_cli(monkeypatch, acme, newer)
    assert code == 1 and "still has conflict markers" in output
    assert snapshot(acme) == before

    # Resolved by hand (the team's wording kept): the upgrade completes.
    resolved = text.split("<<<<<<< README.md (yours)\n")[0] + text.split("=======\n")[0].split("(yours)\n")[1] + text.split(f"(template {newer.version})\n")[1]
    readme.write_text(resolved)
    code, output = _upgrade_cli(monkeypatch, acme, newer)
    assert code == 0, output
    assert readme.read_text() == resolved
    project = Project.find(acme)
    assert project.record.template_version == newer.version
    assert not project.pending_dir.exists()


def test_a_deleted_file_stays_deleted_and_is_named(acme: Path, newer: Template, monkeypatch: pytest.MonkeyPatch) -> None:
    (acme / "acme/seed.py").unlink()
    code, output = _upgrade_cli(monkeypatch, acme, newer)
    assert code == 0, output
    assert "deleted  acme/seed.py: you deleted it; left deleted" in output
    assert not (acme / "acme/seed.py").exists()
    # And the next upgrade does not bring it back either.
    assert upgrade_project(Project.find(acme), newer).deleted == ["acme/seed.py"]
    assert not (acme / "acme/seed.py").exists()


def test_a_file_the_template_drops_is_left_as_it_is(acme: Path, newer: Template) -> None:
    (newer.root / "__package__/seed.py.j2").unlink()
    report = upgrade_project(Project.find(acme), newer)
    assert report.ok and report.dropped == ["acme/seed.py"]
    assert (acme / "acme/seed.py").is_file()
    assert not (Project.find(acme).base_dir / "acme/seed.py").exists()


def test_upgrading_to_the_same_template_changes_nothing(acme: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = snapshot(acme)
    code, output = _upgrade_cli(monkeypatch, acme, project_template())
    assert code == 0 and f"up to date with template {project_template().version}" in output
    assert snapshot(acme) == before


def test_the_executable_bit_of_dev_survives_a_merge(acme: Path, newer: Template) -> None:
    _replace(newer.root / "dev.j2", "# Install again only", "# Reinstall only")
    dev = acme / "dev"
    dev.write_text(dev.read_text().replace("set -euo pipefail\n", "set -euo pipefail\nexport ACME_FLAG=1\n"))
    report = upgrade_project(Project.find(acme), newer)
    assert "dev" in report.updated
    assert "export ACME_FLAG=1" in dev.read_text() and "# Reinstall only" in dev.read_text()
    assert dev.stat().st_mode & 0o111 == 0o111


def test_upgrade_outside_a_project_is_one_line(tmp_path: Path) -> None:
    r = hyper("upgrade", cwd=tmp_path)
    assert_one_line_error(r, "not inside a hyperdeliver project")


def test_upgrade_refuses_uncommitted_changes_unless_allowed(tmp_path: Path, newer: Template, monkeypatch: pytest.MonkeyPatch) -> None:
    project = new_project("acme", tmp_path / "acme", owner="ada@acme.io")  # git init, as hyper new does
    git = ["git", "-c", "user.name=Ada", "-c", "user.email=ada@acme.io"]
    subprocess.run([*git, "add", "-A"], cwd=project, check=True, capture_output=True)
    subprocess.run([*git, "commit", "-qm", "hyper new acme"], cwd=project, check=True, capture_output=True)
    readme = project / "README.md"
    readme.write_text(readme.read_text() + "\nOur own notes.\n")
    before = snapshot(project)

    assert_one_line_error(hyper("upgrade", cwd=project), "uncommitted changes (README.md)", "--allow-dirty")
    assert snapshot(project) == before  # nothing written

    monkeypatch.chdir(project)
    monkeypatch.setattr(upgrade_module, "project_template", lambda: newer)
    result = CliRunner().invoke(cli, ["upgrade", "--allow-dirty"], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    assert "Our own notes." in readme.read_text() and NEW_OWNERS_LINE in readme.read_text()
