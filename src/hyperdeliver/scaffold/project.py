"""A generated project on disk: its names, its root, and the ``.hyper/`` folder.

``.hyper/`` is how a project remembers where it came from, so that ``hyper upgrade`` can
bring it up to a newer template the way ``git merge`` would:

```
.hyper/project.toml   the template version and the answers given to ``hyper new``
.hyper/base/          every generated file as that template version rendered it: the
                      merge base of the next ``hyper upgrade``
.hyper/pending/       during an upgrade with conflicts: the newer template's output for
                      each conflicted file, until its markers are resolved
```

Commit it with the project; edit it never.
"""

from __future__ import annotations

import importlib.util
import json
import keyword
import re
import shutil
import subprocess
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RECORD_DIR = ".hyper"
RECORD_FILE = "project.toml"
BASE_DIR = "base"
PENDING_DIR = "pending"

PROJECT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
FEATURE_NAME = re.compile(r"[a-z][a-z0-9_]*")
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
DEFAULT_OWNER = "you@example.com"


class ScaffoldError(Exception):
    """A one-line reason why a project cannot be generated, changed or upgraded."""


# -- names -------------------------------------------------------------------------


def package_name(name: str) -> str:
    """The Python package of a project: its name lowercased, ``-`` as ``_``.

    Raises :class:`ScaffoldError` for a name that cannot be a project, with the reason.

    >>> package_name("Acme-Shop")
    'acme_shop'
    """
    if not PROJECT_NAME.fullmatch(name):
        raise ScaffoldError(
            f"project name {name!r} must start with a letter and hold only letters, digits, '-' and '_' (e.g. acme)"
        )
    package = name.lower().replace("-", "_")
    if keyword.iskeyword(package) or keyword.issoftkeyword(package):
        raise ScaffoldError(f"project name {name!r} is a Python keyword: pick another name")
    if importlib.util.find_spec(package) is not None:
        raise ScaffoldError(
            f"project name {name!r} would be the Python package {package!r}, which is already importable "
            "(a standard or installed module): pick another name"
        )
    return package


def project_title(name: str) -> str:
    """A human title: ``acme-shop`` reads ``Acme Shop``.

    >>> project_title("acme_shop")
    'Acme Shop'
    """
    return " ".join(word.capitalize() for word in re.split(r"[-_]+", name) if word)


def check_owner(owner: str) -> str:
    """An owner must be an email address (it goes into ``Feature(owner=...)`` and CODEOWNERS)."""
    if not EMAIL.fullmatch(owner):
        raise ScaffoldError(f"owner {owner!r} is not an email address (e.g. alice@acme.io)")
    return owner


def check_feature_name(name: str) -> str:
    """A feature's name is its folder, its table and its route: a lowercase identifier."""
    if not name.isidentifier() or keyword.iskeyword(name) or keyword.issoftkeyword(name):
        raise ScaffoldError(f"feature name {name!r} is not a Python identifier (or is a keyword): use e.g. invoices")
    if not FEATURE_NAME.fullmatch(name):
        raise ScaffoldError(
            f"feature name {name!r} must be lowercase letters, digits and '_', starting with a letter (e.g. invoices)"
        )
    return name


def default_owner() -> str:
    """``git config user.email`` when it is an email, else a placeholder to change."""
    git = shutil.which("git")
    if git:
        try:
            found = subprocess.run([git, "config", "user.email"], capture_output=True, text=True, timeout=5).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            found = ""
        if EMAIL.fullmatch(found):
            return found
    return DEFAULT_OWNER


# -- the record ----------------------------------------------------------------------


@dataclass
class Record:
    """What ``.hyper/project.toml`` holds: the template version and the answers."""

    template_version: int
    hyperdeliver_version: str
    answers: dict[str, str] = field(default_factory=dict)

    def to_toml(self) -> str:
        lines = [
            "# Written by hyperdeliver (`hyper new`, `hyper upgrade`): the template this project was",
            "# generated from and the answers it was generated with. Do not edit; commit it.",
            f"template_version = {int(self.template_version)}",
            f"hyperdeliver_version = {json.dumps(self.hyperdeliver_version)}",
            "",
            "[answers]",
            *(f"{key} = {json.dumps(value)}" for key, value in sorted(self.answers.items())),
        ]
        return "\n".join(lines) + "\n"

    @classmethod
    def from_toml(cls, text: str, source: Path) -> Record:
        try:
            data: dict[str, Any] = tomllib.loads(text)
            answers = {str(k): str(v) for k, v in data.get("answers", {}).items()}
            return cls(int(data["template_version"]), str(data.get("hyperdeliver_version", "")), answers)
        except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ScaffoldError(f"{source} is damaged ({exc}): restore it from version control") from None


@dataclass
class Project:
    """A generated project: its root folder and its record."""

    root: Path
    record: Record

    @property
    def hyper_dir(self) -> Path:
        return self.root / RECORD_DIR

    @property
    def base_dir(self) -> Path:
        return self.hyper_dir / BASE_DIR

    @property
    def pending_dir(self) -> Path:
        return self.hyper_dir / PENDING_DIR

    @property
    def package(self) -> str:
        return self.record.answers["package"]

    def save_record(self) -> None:
        """Write ``.hyper/project.toml`` (not at all when it would not change)."""
        from .render import write_atomically

        path = self.hyper_dir / RECORD_FILE
        text = self.record.to_toml()
        if not path.is_file() or path.read_text() != text:
            write_atomically(path, text.encode())

    @classmethod
    def find(cls, start: Path | None = None) -> Project:
        """The project holding ``start`` (default: the current folder), or a ScaffoldError."""
        here = (start or Path.cwd()).resolve()
        for folder in [here, *here.parents]:
            record = folder / RECORD_DIR / RECORD_FILE
            if record.is_file():
                project = cls(folder, Record.from_toml(record.read_text(), record))
                if "package" not in project.record.answers:
                    raise ScaffoldError(f"{record} has no answers.package: restore it from version control")
                return project
        raise ScaffoldError(
            f"{here} is not inside a hyperdeliver project (no {RECORD_DIR}/{RECORD_FILE} here or above): "
            "cd into one, or start one with 'hyper new NAME'"
        )
