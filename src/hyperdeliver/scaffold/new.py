"""``hyper new``: a complete project from ``templates/project/``, written all or nothing.

Example:
    .. code-block:: console

        $ hyper new acme --owner alice@acme.io
        $ cd acme && ./dev run

The answers (name, owner, ...) and the rendered output are recorded in ``.hyper/`` so
that ``hyper upgrade`` can later merge a newer template into the project.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from .project import (
    BASE_DIR,
    RECORD_DIR,
    RECORD_FILE,
    Record,
    ScaffoldError,
    check_owner,
    default_owner,
    package_name,
    project_title,
)
from .render import RenderedFile, render_tree, templates_root, write_tree

PROJECT_TEMPLATE_VERSION = 2
"""Bump when ``templates/project/`` changes, so projects record which one they merged."""


@dataclass(frozen=True)
class Template:
    """A template tree and its version (tests point one at a modified copy)."""

    root: Path
    version: int


def project_template() -> Template:
    """The project template this hyperdeliver ships."""
    return Template(templates_root() / "project", PROJECT_TEMPLATE_VERSION)


def hyperdeliver_version() -> str:
    from .. import __version__

    return __version__


def hyperdeliver_requirement(path: str | None = None) -> str:
    """The PEP 508 requirement a new project depends on.

    ``path`` (a checkout or a wheel) gives ``hyperdeliver @ file:///...``. Without it, a
    hyperdeliver installed from a local file or folder (PEP 610's ``direct_url.json``)
    is depended on at that same place, since no index may have it; one installed from
    an index gives ``hyperdeliver>=<installed version>``.
    """
    if path:
        target = Path(path).expanduser().resolve()
        if not target.exists():
            raise ScaffoldError(f"--hyperdeliver-path {path}: no such file or folder")
        if target.is_file() and target.suffix != ".whl":
            raise ScaffoldError(f"--hyperdeliver-path {path}: give a hyperdeliver checkout (a folder) or a .whl file")
        if target.is_dir() and not (target / "pyproject.toml").is_file():
            raise ScaffoldError(f"--hyperdeliver-path {path}: that folder has no pyproject.toml (not a hyperdeliver checkout)")
        return f"hyperdeliver @ {target.as_uri()}"
    version = hyperdeliver_version()
    try:
        direct = importlib.metadata.distribution("hyperdeliver").read_text("direct_url.json")
    except importlib.metadata.PackageNotFoundError:
        direct = None
    if direct:
        try:
            url = str(json.loads(direct)["url"])
        except (ValueError, KeyError, TypeError):
            url = ""
        if url.startswith("file://") and Path(unquote(urlparse(url).path)).exists():
            return f"hyperdeliver @ {url}"
    return f"hyperdeliver>={version}"


def answers_for(name: str, owner: str | None = None, hyperdeliver_path: str | None = None) -> dict[str, str]:
    """The answers ``hyper new`` records: checked, with defaults filled in."""
    package = package_name(name)
    if hyperdeliver_path:
        hyperdeliver_requirement(hyperdeliver_path)  # refuses a path that cannot be depended on
    return {
        "name": name,
        "package": package,
        "title": project_title(name),
        "owner": check_owner(owner) if owner else default_owner(),
        "python_version": f"{sys.version_info.major}.{sys.version_info.minor}",
        "hyperdeliver_path": str(Path(hyperdeliver_path).expanduser().resolve()) if hyperdeliver_path else "",
    }


def template_variables(answers: dict[str, str], template: Template) -> dict[str, Any]:
    """The flat variables every template file sees (the contract in ``render.py``)."""
    path = answers.get("hyperdeliver_path") or None
    if path and not Path(path).exists():
        path = None  # a recorded checkout or wheel that has gone: depend on what is installed
    return {
        "name": answers["name"],
        "package": answers["package"],
        "title": answers["title"],
        "owner": answers["owner"],
        "python_version": answers["python_version"],
        "hyperdeliver_version": hyperdeliver_version(),
        "hyperdeliver_requirement": hyperdeliver_requirement(path),
        "template_version": template.version,
    }


def record_base(dest: Path, files: dict[str, RenderedFile]) -> None:
    """Keep the rendered output under ``.hyper/base/``: the next upgrade's merge base."""
    write_tree(files, dest / RECORD_DIR / BASE_DIR)


def new_project(
    name: str,
    dest: Path | None = None,
    *,
    owner: str | None = None,
    hyperdeliver_path: str | None = None,
    template: Template | None = None,
    git: bool = True,
) -> Path:
    """Write a new project into ``dest`` (default ``./NAME``); return its folder.

    Nothing is written unless everything renders: the project is assembled in a hidden
    sibling folder and moved into place at the end. ``dest`` must not exist or be empty.
    """
    template = template or project_template()
    answers = answers_for(name, owner, hyperdeliver_path)
    dest = (dest if dest is not None else Path(name)).expanduser().absolute()
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ScaffoldError(f"{dest} already exists and is not empty: choose a new or empty folder (--path DIR)")
    variables = template_variables(answers, template)
    files = render_tree(template.root, variables)
    record = Record(template.version, str(variables["hyperdeliver_version"]), answers)

    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        staging.chmod(0o777 & ~_umask())  # mkdtemp's folder is private; a project is not
        write_tree(files, staging)
        record_base(staging, files)
        (staging / RECORD_DIR / RECORD_FILE).write_text(record.to_toml())
        if dest.exists():  # an empty folder: move the contents in
            for entry in staging.iterdir():
                os.replace(entry, dest / entry.name)
            staging.rmdir()
        else:
            os.replace(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if git:
        _git_init(dest)
    return dest


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _git_init(dest: Path) -> None:
    """``git init`` the project, as ``rails new`` does, unless git is missing or the folder
    is already inside a repository."""
    git = shutil.which("git")
    if git is None:
        return
    inside = subprocess.run([git, "rev-parse", "--is-inside-work-tree"], cwd=dest, capture_output=True, text=True)
    if inside.returncode == 0:
        return
    subprocess.run([git, "init", "-q"], cwd=dest, capture_output=True)
