"""docs/getting-started.md: its files make a project whose commands and tests pass as written."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from hyper_cli import HYPER

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "getting-started.md").read_text()


def test_the_project_of_the_page_migrates_serves_its_routes_and_passes_its_tests(tmp_path: Path) -> None:
    project = tmp_path / "acme"
    files = re.findall(r"```(?:python|toml)\n# (\S+)\n(.*?)```", DOC, re.S)
    assert {p for p, _ in files} >= {"pyproject.toml", "acme/app.py", "acme/features/invoices/models.py", "tests/test_permissions.py"}
    for path, body in files:
        target = project / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(f"# {path}\n{body}")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HYPER_", "PYTEST_"))}
    env |= {"HYPER_DATABASE_URL": f"sqlite:///{tmp_path / 'acme.sqlite3'}", "NO_COLOR": "1"}
    commands = re.search(r"```console\n(\$ hyper db upgrade.*?)```", DOC, re.S)
    assert commands is not None
    for line in commands.group(1).splitlines():
        args = shlex.split(line.removeprefix("$ ").split("  #")[0])
        assert args[0] == "hyper"
        r = subprocess.run([HYPER, *args[1:]], cwd=project, env=env, input="a long password\n", capture_output=True, text=True, timeout=180)
        assert r.returncode == 0, f"{line}: {r.stderr}"
    assert len(list((project / "acme/migrations").glob("*_add_invoices.py"))) == 1
    routes = json.loads(subprocess.run([HYPER, "routes", "--json"], cwd=project, env=env, capture_output=True, text=True, timeout=120).stdout)
    assert {(r["method"], r["path"], tuple(r["roles"])) for r in routes if r["feature"] == "invoices"} == {
        ("POST", "/invoices", ("member",)), ("GET", "/invoices", ("viewer",)), ("GET", "/invoices/{invoice_id}", ("viewer",)),
    }
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=project, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    # 3 tests, and the matrix: 10 operations x 5 callers, 6 writes without CSRF
    assert "59 passed" in r.stdout, r.stdout[-500:]


def test_the_page_says_where_the_caller_is() -> None:
    assert "ctx.principal.user_id" in DOC and "not `ctx.user.id`" in DOC
    for attribute in ("user_id", "email", "roles", "effective_roles", "has_role", "authenticated", "via"):
        assert f"| `{attribute}" in DOC, attribute


def test_the_context_and_principal_tables_name_real_attributes() -> None:
    from hyperdeliver import Context, Principal

    ctx_table = DOC[DOC.index("| `ctx.` |") : DOC.index("| `ctx.principal.` |")]
    principal_table = DOC[DOC.index("| `ctx.principal.` |") :].split("\n\n")[0]
    for table, cls in ((ctx_table, Context), (principal_table, Principal)):
        names = re.findall(r"`(\w+)(?:\(|`)", "\n".join(line.split("|")[1] for line in table.splitlines()[2:] if line.startswith("|")))
        assert names, table
        for name in names:
            assert hasattr(cls, name) or name in getattr(cls, "__slots__", ()) or name in getattr(cls, "__dataclass_fields__", {}), (cls.__name__, name)
