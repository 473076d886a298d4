"""``hyper add feature NAME --owner EMAIL``: a new feature in the project's style.

It writes the feature's folder (operations in ``__init__.py``, the table in
``models.py``), the migration that creates the table, and the feature's tests, from the
templates under ``templates/feature/``, and adds the folder's line to
``.github/CODEOWNERS``. Everything is checked and rendered before the first file is
written, so a refusal (a name that exists, a bad owner, no project) leaves nothing behind.

Example:
    .. code-block:: console

        $ hyper add feature invoices --owner alice@acme.io
        $ ./dev hyper db upgrade && ./dev test
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .owners import add_line
from .project import Project, ScaffoldError, check_feature_name, check_owner
from .render import render_file, templates_root

if TYPE_CHECKING:
    from ..app import App

FILES = {
    "__init__.py.j2": "{package}/features/{feature}/__init__.py",
    "models.py.j2": "{package}/features/{feature}/models.py",
    "migration.py.j2": "{package}/migrations/{number:04d}_{feature}.py",
    "test_feature.py.j2": "tests/test_{feature}.py",
}
"""Each template of ``templates/feature/`` and where it is written in the project."""


def singular(word: str) -> str:
    """A plural noun's singular, by the common English endings (``invoices`` -> ``invoice``).

    >>> [singular(w) for w in ("invoices", "companies", "boxes", "addresses", "billing", "status")]
    ['invoice', 'company', 'box', 'address', 'billing', 'status']
    """
    if word.endswith("ies") and len(word) > 3:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes", "zes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def class_name(word: str) -> str:
    """``line_item`` -> ``LineItem``."""
    return "".join(part.capitalize() for part in word.split("_") if part)


@dataclass
class FeaturePlan:
    """What ``hyper add feature`` will write: project-relative paths and their contents."""

    files: dict[str, bytes]
    codeowners_line: str


def _role_levels(app: App) -> tuple[str, str, str]:
    """The app's lowest, middle and highest roles: who reads, writes and deletes by default."""
    hierarchy = app.role_hierarchy
    ordered = sorted(hierarchy.names, key=lambda r: (len(hierarchy.expand({r})), r))
    if not ordered:
        raise ScaffoldError("the app declares no roles (App(roles=[...])): add some first")
    return ordered[0], ordered[len(ordered) // 2], ordered[-1]


def _migration(app: App, package: str) -> dict[str, Any]:
    """The new migration's number, revision id, and place in the app's branch."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from ..db.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config(app))
    numbered = re.compile(rf"{re.escape(package)}_(\d+)")
    taken = {r.revision for r in script.walk_revisions()}
    numbers = [int(m.group(1)) for rev in taken if (m := numbered.fullmatch(rev))]
    number = max(numbers, default=0) + 1
    try:
        heads = script.get_revisions(f"{app.name}@heads")
    except CommandError:
        heads = ()
    if len(heads) > 1:
        names = ", ".join(sorted(h.revision for h in heads if h is not None))
        raise ScaffoldError(f"the app's migrations have {len(heads)} heads ({names}): merge them first (alembic merge)")
    head = heads[0].revision if heads and heads[0] is not None else None
    return {
        "number": number,
        "revision": f"{package}_{number:04d}",
        "down_revision": head,
        # The first revision of the app starts its branch, after hyperdeliver's tables.
        "branch_labels": None if head else (app.name,),
        "depends_on": None if head else ("hd_auth_0001",),
    }


def _refuse_existing(project: Project, app: App, name: str, variables: dict[str, Any]) -> None:
    root, package = project.root, project.package
    features_dir = root / package / "features"
    if not features_dir.is_dir():
        raise ScaffoldError(f"{features_dir.relative_to(root)}/ does not exist: the project's features live there")
    for existing in (features_dir / name, features_dir / f"{name}.py"):
        if existing.exists():
            raise ScaffoldError(f"feature {name!r} already exists: {existing.relative_to(root)}")
    if name in app.features:
        raise ScaffoldError(f"a feature named {name!r} already exists (declared in {app.features[name].module})")
    from ..db.model import metadata

    if variables["table"] in metadata.tables:
        raise ScaffoldError(f"a table named {variables['table']!r} already exists: pick another feature name")
    item = variables["item"]
    wanted = {f"list_{name}", f"get_{item}", f"create_{item}", f"delete_{item}"}
    taken = {op.name for op in app.operations} & wanted
    if taken:
        raise ScaffoldError(f"operations named {', '.join(sorted(taken))} already exist: pick another feature name")
    paths = {f"/{name}", f"/{name}/{{{item}_id}}"}
    clash = sorted(f"{op.method} {op.path}" for op in app.operations if op.path in paths)
    if clash:
        raise ScaffoldError(f"routes {', '.join(clash)} already exist: pick another feature name")


def plan_feature(project: Project, app: App, name: str, owner: str) -> FeaturePlan:
    """Check everything and render every file, writing nothing."""
    check_feature_name(name)
    check_owner(owner)
    package = project.package
    read_role, write_role, admin_role = _role_levels(app)
    item = singular(name)
    variables: dict[str, Any] = {
        "package": package,
        "feature": name,
        "owner": owner,
        "title": name.replace("_", " ").capitalize(),
        "table": name,
        "item": item,
        "item_words": item.replace("_", " "),
        "model": class_name(item),
        "read_role": read_role,
        "write_role": write_role,
        "admin_role": admin_role,
    }
    _refuse_existing(project, app, name, variables)
    variables |= _migration(app, package)
    root = templates_root() / "feature"
    files: dict[str, bytes] = {}
    for template, target in FILES.items():
        relative = target.format(**variables)
        if (project.root / relative).exists():
            raise ScaffoldError(f"{relative} already exists: pick another feature name")
        files[relative] = render_file(root, template, variables)
    return FeaturePlan(files, f"/{package}/features/{name}/ {owner}")


def add_feature(project: Project, app: App, name: str, owner: str) -> list[str]:
    """Write the feature; return the project-relative paths written (CODEOWNERS last)."""
    plan = plan_feature(project, app, name, owner)
    written: list[Path] = []
    made: list[Path] = []
    try:
        for relative, content in plan.files.items():
            path = project.root / relative
            missing = [p for p in reversed(path.parents) if not p.exists()]
            path.parent.mkdir(parents=True, exist_ok=True)
            made.extend(missing)
            path.write_bytes(content)
            written.append(path)
        add_line(project.root, plan.codeowners_line)
    except OSError as exc:
        for path in written:  # all or nothing
            path.unlink(missing_ok=True)
        for folder in reversed(made):
            folder.rmdir()
        raise ScaffoldError(f"could not write the feature: {exc}") from None
    return [*plan.files, ".github/CODEOWNERS"]
