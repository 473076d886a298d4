"""``hyper new``: the generated project's layout, its record, and refusals that write nothing."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest
from scaffoldhelpers import assert_one_line_error, hyper, snapshot

from hyperdeliver import __version__
from hyperdeliver.scaffold import new as new_module
from hyperdeliver.scaffold.new import Template, hyperdeliver_requirement, new_project, project_template
from hyperdeliver.scaffold.project import Project, ScaffoldError
from hyperdeliver.scaffold.upgrade import read_tree

LAYOUT = [
    ".dockerignore",
    ".github/CODEOWNERS",
    ".gitignore",
    "Dockerfile",
    "README.md",
    "acme/__init__.py",
    "acme/app.py",
    "acme/features/__init__.py",
    "acme/features/notes/__init__.py",
    "acme/features/notes/models.py",
    "acme/migrations/0001_notes.py",
    "acme/migrations/__init__.py",
    "acme/seed.py",
    "dev",
    "pyproject.toml",
    "tests/conftest.py",
    "tests/test_notes.py",
    "tests/test_permissions.py",
    "wheels/.gitignore",
]


@pytest.fixture
def acme(tmp_path: Path) -> Path:
    return new_project("acme", tmp_path / "acme", owner="ada@acme.io", git=False)


def test_a_new_project_has_the_contract_layout_and_every_python_file_compiles(acme: Path) -> None:
    generated = sorted(p.relative_to(acme).as_posix() for p in acme.rglob("*") if p.is_file() and ".hyper" not in p.parts)
    # Issue 16 adds files (workflows): the layout here is what must be there.
    assert set(LAYOUT) <= set(generated), sorted(set(LAYOUT) - set(generated))
    for relative in generated:
        if relative.endswith(".py"):
            compile((acme / relative).read_text(), relative, "exec")
    assert (acme / "dev").stat().st_mode & 0o111 == 0o111
    assert "\n/acme/features/notes/ ada@acme.io\n" in (acme / ".github/CODEOWNERS").read_text()
    assert 'Feature("notes", owner="ada@acme.io"' in (acme / "acme/features/notes/__init__.py").read_text()


def test_the_pyproject_names_the_app_and_the_test_and_dev_extras(acme: Path) -> None:
    data = tomllib.loads((acme / "pyproject.toml").read_text())
    assert data["project"]["name"] == "acme"
    assert data["project"]["dependencies"][0].startswith("hyperdeliver")
    assert {"test", "dev"} <= set(data["project"]["optional-dependencies"])
    assert any(d.startswith("pytest") for d in data["project"]["optional-dependencies"]["test"])
    assert data["tool"]["hyperdeliver"]["app"] == "acme.app:create_app"


def test_the_readme_starts_with_run_and_test_and_has_deploy_and_cicd_sections(acme: Path) -> None:
    readme = (acme / "README.md").read_text()
    first = re.search(r"```console\n(.*?)```", readme, re.S)
    assert first is not None and readme.index("```console") < readme.index("\n## ")
    assert [line.split("#")[0].strip() for line in first.group(1).splitlines() if line.strip()] == ["./dev run", "./dev test"]
    assert "\n## Deploy\n" in readme and "\n## CI/CD\n" in readme
    assert "{{" not in readme and "{%" not in readme


def test_the_record_holds_the_answers_and_the_rendered_output_as_merge_base(acme: Path) -> None:
    project = Project.find(acme / "acme" / "features")  # found from a subfolder too
    assert project.root == acme.resolve() or project.root == acme
    assert project.record.template_version == project_template().version
    assert project.record.hyperdeliver_version == __version__
    assert project.record.answers | {"python_version": "x"} == {
        "name": "acme",
        "package": "acme",
        "title": "Acme",
        "owner": "ada@acme.io",
        "python_version": "x",
        "hyperdeliver_path": "",
    }
    base = read_tree(project.base_dir)
    on_disk = {rel: (acme / rel).read_bytes() for rel in base}
    assert {rel: f.content for rel, f in base.items()} == on_disk
    assert base["dev"].executable


def test_the_generated_app_loads_with_its_roles_operations_task_and_cron(acme: Path) -> None:
    routes = hyper("routes", "--json", cwd=acme)
    assert routes.returncode == 0, routes.stderr
    notes = {(r["method"], r["path"]): r["roles"] for r in json.loads(routes.stdout) if r["feature"] == "notes"}
    assert notes == {
        ("GET", "/notes"): ["viewer"],
        ("GET", "/notes/{note_id}"): ["viewer"],
        ("POST", "/notes"): ["member"],
        ("DELETE", "/notes/{note_id}"): ["admin"],
    }
    crons = hyper("cron", "list", "--json", cwd=acme)
    assert crons.returncode == 0, crons.stderr
    assert "notes.count_missed_words" in [c["name"] for c in json.loads(crons.stdout)]


def test_hyperdeliver_path_points_the_project_at_a_checkout_or_a_wheel(tmp_path: Path) -> None:
    checkout = Path(__file__).resolve().parents[2]
    assert hyperdeliver_requirement(str(checkout)) == f"hyperdeliver @ {checkout.as_uri()}"
    wheel = tmp_path / "hyperdeliver-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"")
    assert hyperdeliver_requirement(str(wheel)) == f"hyperdeliver @ {wheel.as_uri()}"
    acme = new_project("acme", tmp_path / "acme", owner="ada@acme.io", hyperdeliver_path=str(wheel), git=False)
    assert f'"hyperdeliver @ {wheel.as_uri()}"' in (acme / "pyproject.toml").read_text()


@pytest.mark.parametrize(
    ("direct_url", "expected"),
    [
        (None, f"hyperdeliver>={__version__}"),  # from an index
        ({"url": "file:///nowhere/hyperdeliver.whl"}, f"hyperdeliver>={__version__}"),  # a file since removed
        ("existing", "hyperdeliver @ file://"),  # a local wheel or checkout: depend on it there
    ],
)
def test_without_a_path_the_requirement_follows_how_hyperdeliver_was_installed(
    direct_url: object, expected: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    if direct_url == "existing":
        direct_url = {"url": tmp_path.as_uri()}
    text = None if direct_url is None else json.dumps(direct_url)
    fake = SimpleNamespace(read_text=lambda name: text if name == "direct_url.json" else None)
    monkeypatch.setattr(new_module.importlib.metadata, "distribution", lambda name: fake)
    assert hyperdeliver_requirement().startswith(expected)


def test_new_writes_into_an_empty_folder_and_runs_git_init(tmp_path: Path) -> None:
    target = tmp_path / "empty"
    target.mkdir()
    r = hyper("new", "acme", "--path", str(target), "--owner", "ada@acme.io", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (target / "acme" / "app.py").is_file()
    if shutil.which("git"):
        assert (target / ".git").is_dir()
        # Inside a repository already: no nested one.
        nested = hyper("new", "inner", "--owner", "ada@acme.io", cwd=target)
        assert nested.returncode == 0, nested.stderr
        assert not (target / "inner" / ".git").exists()


def test_new_refuses_a_non_empty_folder_and_touches_nothing(tmp_path: Path) -> None:
    target = tmp_path / "acme"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    before = snapshot(tmp_path)
    r = hyper("new", "acme", cwd=tmp_path)
    assert_one_line_error(r, "not empty")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["1acme"], "must start with a letter"),
        (["my app"], "must start with a letter"),
        (["class"], "keyword"),
        (["json"], "already importable"),
        (["hyperdeliver"], "already importable"),
        (["acme", "--owner", "not-an-email"], "not an email address"),
        (["acme", "--hyperdeliver-path", "/nowhere/at/all"], "no such file or folder"),
    ],
)
def test_new_refuses_bad_input_in_one_line_and_writes_nothing(args: list[str], needle: str, tmp_path: Path) -> None:
    r = hyper("new", *args, cwd=tmp_path)
    assert_one_line_error(r, needle)
    assert list(tmp_path.iterdir()) == []


def test_a_template_that_fails_to_render_leaves_nothing_behind(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(project_template().root, broken)
    (broken / "zzz.txt.j2").write_text("{{ no_such_variable }}\n")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ScaffoldError, match="no_such_variable"):
        new_project("acme", out / "acme", owner="ada@acme.io", template=Template(broken, 1), git=False)
    assert list(out.iterdir()) == []


def test_the_project_folder_is_not_private(acme: Path) -> None:
    # Assembled in a temporary folder (mode 0700), it gets the umask's usual mode.
    assert acme.stat().st_mode & 0o055 == 0o055
    assert subprocess.run(["test", "-r", str(acme)]).returncode == 0
