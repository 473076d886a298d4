"""``hyper add feature``: a feature in the project's style, its migration chained to the
app's branch, its CODEOWNERS line; refusals in one line that write nothing."""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import pytest
from scaffoldhelpers import assert_one_line_error, hyper, snapshot

from hyperdeliver.scaffold.feature import class_name, singular
from hyperdeliver.scaffold.new import new_project


@pytest.fixture
def acme(tmp_path: Path) -> Path:
    return new_project("acme", tmp_path / "acme", owner="ada@acme.io", git=False)


def _revision_fields(path: Path) -> dict[str, object]:
    """revision, down_revision, branch_labels, depends_on: read as Python literals."""
    tree = ast.parse(path.read_text())
    wanted = {"revision", "down_revision", "branch_labels", "depends_on"}
    return {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) and node.targets[0].id in wanted
    }


def test_add_feature_writes_the_folder_migration_tests_and_codeowners_line(acme: Path) -> None:
    r = hyper("add", "feature", "invoices", "--owner", "a@acme.io", cwd=acme)
    assert r.returncode == 0, r.stderr
    for relative in (
        "acme/features/invoices/__init__.py",
        "acme/features/invoices/models.py",
        "acme/migrations/0002_invoices.py",
        "tests/test_invoices.py",
    ):
        assert f"created {relative}" in r.stdout
        compile((acme / relative).read_text(), relative, "exec")
    assert "updated .github/CODEOWNERS" in r.stdout
    assert _revision_fields(acme / "acme/migrations/0002_invoices.py") == {
        "revision": "acme_0002",
        "down_revision": "acme_0001",
        "branch_labels": None,
        "depends_on": None,
    }
    block = (acme / ".github/CODEOWNERS").read_text().split("# BEGIN hyper owners\n")[1].split("# END")[0]
    assert block == "/acme/features/invoices/ a@acme.io\n/acme/features/notes/ ada@acme.io\n"

    routes = hyper("routes", "--json", cwd=acme)
    assert routes.returncode == 0, routes.stderr
    invoices = {(x["method"], x["path"], x["operation"]): x["roles"] for x in json.loads(routes.stdout) if x["feature"] == "invoices"}
    assert invoices == {
        ("GET", "/invoices", "invoices.list_invoices"): ["viewer"],
        ("GET", "/invoices/{invoice_id}", "invoices.get_invoice"): ["viewer"],
        ("POST", "/invoices", "invoices.create_invoice"): ["member"],
        ("DELETE", "/invoices/{invoice_id}", "invoices.delete_invoice"): ["admin"],
    }
    assert all(x["owner"] == "a@acme.io" for x in json.loads(routes.stdout) if x["feature"] == "invoices")
    check = hyper("owners", "--check", cwd=acme)
    assert check.returncode == 0, check.stdout + check.stderr


def test_the_features_migration_matches_its_model_and_applies(acme: Path) -> None:
    assert hyper("add", "feature", "invoices", "--owner", "a@acme.io", cwd=acme).returncode == 0
    env = {"HYPER_DATABASE_URL": f"sqlite:///{acme / 'var' / 'check.sqlite3'}"}
    # Autogenerate finds nothing to add: the written migration builds exactly the model.
    r = hyper("db", "revision", "-m", "anything missing", cwd=acme, env=env)
    assert r.returncode == 0 and "no changes" in r.stdout, r.stdout + r.stderr
    up = hyper("db", "upgrade", cwd=acme, env=env)
    assert up.returncode == 0 and "acme_0002" in up.stdout, up.stdout + up.stderr


def test_features_chain_their_migrations_in_order(acme: Path) -> None:
    assert hyper("add", "feature", "invoices", "--owner", "a@acme.io", cwd=acme).returncode == 0
    r = hyper("add", "feature", "companies", "--owner", "b@acme.io", cwd=acme / "acme")  # from a subfolder
    assert r.returncode == 0, r.stderr
    assert _revision_fields(acme / "acme/migrations/0003_companies.py")["down_revision"] == "acme_0002"
    text = (acme / "acme/features/companies/__init__.py").read_text()
    assert "class CompanyIn(BaseModel)" in text and "async def get_company(" in text


def test_the_first_migration_of_an_app_without_any_starts_its_branch(acme: Path) -> None:
    shutil.rmtree(acme / "acme/features/notes")
    (acme / "acme/migrations/0001_notes.py").unlink()
    (acme / "tests/test_notes.py").unlink()
    (acme / "tests/conftest.py").write_text("")
    r = hyper("add", "feature", "invoices", "--owner", "a@acme.io", cwd=acme)
    assert r.returncode == 0, r.stderr
    assert _revision_fields(acme / "acme/migrations/0001_invoices.py") == {
        "revision": "acme_0001",
        "down_revision": None,
        "branch_labels": ("acme",),
        "depends_on": ("hd_auth_0001",),
    }


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["notes", "--owner", "a@acme.io"], "already exists"),
        (["Invoices", "--owner", "a@acme.io"], "lowercase"),
        (["1invoices", "--owner", "a@acme.io"], "not a Python identifier"),
        (["in-voices", "--owner", "a@acme.io"], "not a Python identifier"),
        (["class", "--owner", "a@acme.io"], "keyword"),
        (["auth", "--owner", "a@acme.io"], "already exists"),
        (["invoices", "--owner", "alice"], "not an email address"),
    ],
)
def test_add_feature_refuses_bad_input_in_one_line_and_writes_nothing(args: list[str], needle: str, acme: Path) -> None:
    before = snapshot(acme)
    r = hyper("add", "feature", *args, cwd=acme)
    assert_one_line_error(r, needle)
    assert snapshot(acme) == before


def test_add_feature_outside_a_project_refuses_and_writes_nothing(tmp_path: Path) -> None:
    r = hyper("add", "feature", "invoices", "--owner", "a@acme.io", cwd=tmp_path)
    assert_one_line_error(r, "not inside a hyperdeliver project")
    assert list(tmp_path.iterdir()) == []


def test_names_of_the_generated_code() -> None:
    assert [singular(w) for w in ("invoices", "companies", "boxes", "line_items", "news")] == [
        "invoice",
        "company",
        "box",
        "line_item",
        "new",
    ]
    assert class_name("line_item") == "LineItem"


def test_the_owner_defaults_to_git_user_email_else_the_projects_owner(acme: Path, tmp_path: Path) -> None:
    gitconfig = tmp_path / "gitconfig"
    gitconfig.write_text("[user]\n\temail = carol@acme.io\n")
    env = {"GIT_CONFIG_GLOBAL": str(gitconfig), "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(tmp_path)}
    r = hyper("add", "feature", "invoices", cwd=acme, env=env)
    assert r.returncode == 0 and "feature invoices (owner carol@acme.io)" in r.stdout, r.stdout + r.stderr
    gitconfig.write_text("")
    r = hyper("add", "feature", "companies", cwd=acme, env=env)
    assert r.returncode == 0 and "feature companies (owner ada@acme.io)" in r.stdout, r.stdout + r.stderr
