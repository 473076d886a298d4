"""``hyper owners``: every feature with its owner and folder, CODEOWNERS written from the
code, and ``--check`` failing (naming the lines) when the two disagree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scaffoldhelpers import ROOT, hyper, snapshot

from hyperdeliver.scaffold.new import new_project
from hyperdeliver.scaffold.owners import BEGIN, END, check_codeowners, codeowners_lines, ownerships, read_block, replace_block


@pytest.fixture
def acme(tmp_path: Path) -> Path:
    return new_project("acme", tmp_path / "acme", owner="ada@acme.io", git=False)


def test_owners_lists_every_feature_with_its_owner_and_folder(acme: Path) -> None:
    r = hyper("owners", cwd=acme)
    assert r.returncode == 0, r.stderr
    assert any(line.split("│")[1:4] == [" notes   ", " ada@acme.io  ", " acme/features/notes/ "] for line in r.stdout.splitlines()), r.stdout
    assert "unchanged: .github/CODEOWNERS" in r.stdout
    listed = json.loads(hyper("owners", "--json", cwd=acme).stdout)
    assert {"feature": "notes", "owner": "ada@acme.io", "folder": "acme/features/notes/"} in listed
    assert {"feature": "auth", "owner": "hyperdeliver", "folder": None} in listed  # hyperdeliver's own: not in CODEOWNERS


def test_check_names_the_differing_lines_and_owners_rewrites_only_its_block(acme: Path) -> None:
    feature = acme / "acme/features/notes/__init__.py"
    feature.write_text(feature.read_text().replace('owner="ada@acme.io"', 'owner="bob@acme.io"'))
    codeowners = acme / ".github/CODEOWNERS"
    codeowners.write_text(codeowners.read_text().replace("* ada@acme.io", "* lead@acme.io\n/docs/ writer@acme.io"))
    before = snapshot(acme)

    r = hyper("owners", "--check", cwd=acme)
    assert r.returncode == 1
    assert "missing:    /acme/features/notes/ bob@acme.io" in r.stdout
    assert "unexpected: /acme/features/notes/ ada@acme.io" in r.stdout
    assert snapshot(acme) == before  # --check changes nothing

    r = hyper("owners", cwd=acme)
    assert r.returncode == 0 and "wrote .github/CODEOWNERS (1 feature folders)" in r.stdout, r.stdout + r.stderr
    text = codeowners.read_text()
    assert read_block(text) == ["/acme/features/notes/ bob@acme.io"]
    assert text.startswith("# Who reviews what") and "* lead@acme.io\n/docs/ writer@acme.io\n" in text
    assert hyper("owners", "--check", cwd=acme).returncode == 0


def test_check_fails_without_a_codeowners_file_and_owners_creates_it(acme: Path) -> None:
    (acme / ".github/CODEOWNERS").unlink()
    r = hyper("owners", "--check", cwd=acme)
    assert r.returncode == 1 and ".github/CODEOWNERS does not exist" in r.stdout
    assert hyper("owners", cwd=acme).returncode == 0
    assert (acme / ".github/CODEOWNERS").read_text() == f"{BEGIN}\n/acme/features/notes/ ada@acme.io\n{END}\n"


def test_a_feature_folder_is_relative_to_the_project_root() -> None:
    from hyperdeliver.demo.teamboard.app import create_app
    from hyperdeliver.settings import Settings

    app = create_app(Settings(env="test", database_url="sqlite://"))
    lines = codeowners_lines(ownerships(app, ROOT))
    assert "/src/hyperdeliver/demo/teamboard/features/tasks/ carol@teamboard.dev" in lines
    assert "/src/hyperdeliver/demo/teamboard/features/comments/ dan@teamboard.dev" in lines


def test_the_block_is_appended_when_missing_and_replaced_in_place() -> None:
    assert replace_block("", ["/a/ x@y.io"]) == f"{BEGIN}\n/a/ x@y.io\n{END}\n"
    mine = f"* lead@acme.io\n{BEGIN}\n/old/ x@y.io\n{END}\n/docs/ w@acme.io\n"
    assert replace_block(mine, ["/a/ x@y.io"]) == f"* lead@acme.io\n{BEGIN}\n/a/ x@y.io\n{END}\n/docs/ w@acme.io\n"
    assert read_block("* lead@acme.io\n") is None


def test_check_reports_a_file_without_the_block(tmp_path: Path) -> None:
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github/CODEOWNERS").write_text("* lead@acme.io\n")
    assert check_codeowners(tmp_path, ["/a/ x@y.io"]) == [f".github/CODEOWNERS has no '{BEGIN}' ... '{END}' block"]


def test_a_virtualenv_inside_the_project_is_not_the_projects_code(tmp_path: Path) -> None:
    from hyperdeliver.scaffold.owners import _in_project

    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv/pyvenv.cfg").write_text("home = /usr/bin\n")
    installed = tmp_path / ".venv/lib/python3.11/site-packages/hyperdeliver/auth/feature.py"
    assert not _in_project(installed, tmp_path)
    assert not _in_project(tmp_path / "vendor/site-packages/x.py", tmp_path)
    assert _in_project(tmp_path / "acme/features/notes", tmp_path)
    assert not _in_project(tmp_path.parent / "elsewhere", tmp_path)
