"""Owners: who owns each feature (``Feature(owner=...)``) and ``.github/CODEOWNERS``.

The code is the source of truth; CODEOWNERS is derived from it, one line per feature
folder, so that a pull request touching a feature asks its owner for review. The lines
live in a block that ``hyper owners`` rewrites; lines outside the block are the team's
own (a catch-all ``*`` rule above it, say):

```
* lead@acme.io
# BEGIN hyper owners
/acme/features/invoices/ alice@acme.io
/acme/features/notes/ bob@acme.io
# END hyper owners
```

Example:
    >>> replace_block("* lead@acme.io\\n", ["/acme/features/notes/ bob@acme.io"]).splitlines()
    ['* lead@acme.io', '', '# BEGIN hyper owners', '/acme/features/notes/ bob@acme.io', '# END hyper owners']
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .project import ScaffoldError
from .render import write_atomically

if TYPE_CHECKING:
    from ..app import App

CODEOWNERS = Path(".github") / "CODEOWNERS"
BEGIN = "# BEGIN hyper owners"
END = "# END hyper owners"


@dataclass(frozen=True)
class Ownership:
    """One feature: its name, owner, and folder relative to the project root (POSIX),
    or None when the feature lives outside the project (hyperdeliver's own)."""

    feature: str
    owner: str
    path: str | None

    @property
    def pattern(self) -> str | None:
        """The CODEOWNERS pattern for the folder: anchored at the root, ``/`` for a folder."""
        return None if self.path is None else f"/{self.path}"


def project_root(start: Path | None = None) -> Path:
    """The folder holding the project's pyproject.toml (the current folder or above)."""
    here = (start or Path.cwd()).resolve()
    for folder in [here, *here.parents]:
        if (folder / "pyproject.toml").is_file():
            return folder
    raise ScaffoldError(f"no pyproject.toml in {here} or above: run this inside a hyperdeliver project")


def ownerships(app: App, root: Path) -> list[Ownership]:
    """Every feature of the app with its owner and folder, sorted by folder then name."""
    root = root.resolve()
    found: list[Ownership] = []
    for feature in app.features.values():
        folder = feature.folder
        path: str | None = None
        if folder is not None and _in_project(folder, root):
            path = folder.relative_to(root).as_posix() + ("/" if folder.is_dir() else "")
        found.append(Ownership(feature.name, feature.owner, path))
    return sorted(found, key=lambda o: (o.path is None, o.path or "", o.feature))


def _in_project(path: Path, root: Path) -> bool:
    """True for the project's own code: under its root, and not an installed package
    (a virtualenv inside the project, such as ``.venv/``, is not the project's code)."""
    if not path.is_relative_to(root):
        return False
    relative = path.relative_to(root)
    if {"site-packages", "dist-packages"} & set(relative.parts):
        return False
    return not any((root / Path(*relative.parts[:i]) / "pyvenv.cfg").is_file() for i in range(1, len(relative.parts)))


def codeowners_lines(owned: Iterable[Ownership]) -> list[str]:
    """One line per feature folder of the project; a folder shared by features lists every owner.

    >>> codeowners_lines([Ownership("b", "bob@x.io", "a/b/"), Ownership("auth", "hyperdeliver", None)])
    ['/a/b/ bob@x.io']
    """
    owners: dict[str, list[str]] = {}
    for o in owned:
        if o.pattern is not None and o.owner not in owners.setdefault(o.pattern, []):
            owners[o.pattern].append(o.owner)
    return [f"{pattern} {' '.join(sorted(names))}" for pattern, names in sorted(owners.items())]


def read_block(text: str) -> list[str] | None:
    """The lines between the markers (blank lines and comments dropped), or None without a block."""
    lines = text.splitlines()
    if BEGIN not in lines or END not in lines[lines.index(BEGIN) :]:
        return None
    start = lines.index(BEGIN)
    end = lines.index(END, start)
    return [line.strip() for line in lines[start + 1 : end] if line.strip() and not line.lstrip().startswith("#")]


def replace_block(text: str, lines: list[str]) -> str:
    """``text`` with the block's lines replaced by ``lines`` (a block appended when it has none)."""
    block = [BEGIN, *lines, END]
    current = text.splitlines()
    if read_block(text) is None:
        prefix = [*current, ""] if current and current[-1].strip() else current
        return "\n".join([*prefix, *block]) + "\n"
    start = current.index(BEGIN)
    end = current.index(END, start)
    return "\n".join([*current[:start], *block, *current[end + 1 :]]) + "\n"


def write_codeowners(root: Path, lines: list[str]) -> bool:
    """Rewrite the block of ``root/.github/CODEOWNERS``; True when the file changed."""
    path = root / CODEOWNERS
    old = path.read_text() if path.is_file() else ""
    new = replace_block(old, lines)
    if new == old:
        return False
    write_atomically(path, new.encode())
    return True


def check_codeowners(root: Path, lines: list[str]) -> list[str]:
    """How the CODEOWNERS block differs from ``lines``: one message per differing line
    (empty when they agree)."""
    path = root / CODEOWNERS
    if not path.is_file():
        return [f"{CODEOWNERS} does not exist"]
    block = read_block(path.read_text())
    if block is None:
        return [f"{CODEOWNERS} has no '{BEGIN}' ... '{END}' block"]
    problems = [f"missing:    {line}" for line in lines if line not in block]
    problems += [f"unexpected: {line}" for line in block if line not in lines]
    return problems


def add_line(root: Path, line: str) -> None:
    """Add one line to the block (``hyper add feature``), keeping it sorted."""
    path = root / CODEOWNERS
    block = read_block(path.read_text()) if path.is_file() else None
    write_codeowners(root, sorted({*(block or []), line}))
