"""Rendering a template tree: the one place that turns ``templates/<kind>/`` into files.

The contract every template author relies on (``hyper new``, ``hyper add feature`` and
``hyper upgrade`` all render through :func:`render_tree`):

- every file under the tree is written at the same relative path;
- a file whose name ends in ``.j2`` is rendered with Jinja2 (``StrictUndefined``, so a
  misspelt variable is an error, and ``keep_trailing_newline``) and written without the
  suffix; any other file is copied byte for byte;
- a path segment named ``__package__`` becomes the project's Python package name;
- the executable bit is kept (``dev`` stays runnable), and dotfiles are files like any other;
- text that must reach the project with ``{{ }}`` in it (a GitHub Actions ``${{ github.sha }}``)
  goes inside ``{% raw %}...{% endraw %}`` in a ``.j2`` file, or in a file without ``.j2``.

Every file added under ``templates/project/`` ships in the wheel (``package-data`` in
pyproject.toml covers dotfiles and dot-folders; tests/scaffold checks a real wheel), and
reaches existing projects through ``hyper upgrade``. Bump ``PROJECT_TEMPLATE_VERSION``
(:mod:`.new`) when the tree changes.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> root = Path(tempfile.mkdtemp())
    >>> (root / "__package__").mkdir()
    >>> _ = (root / "__package__" / "app.py.j2").write_text('NAME = "{{ name }}"\\n')
    >>> files = render_tree(root, {"name": "acme", "package": "acme"})
    >>> files["acme/app.py"].content
    b'NAME = "acme"\\n'
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any

import jinja2

from .project import ScaffoldError

PACKAGE_SEGMENT = "__package__"
TEMPLATE_SUFFIX = ".j2"
SKIPPED = {"__pycache__", ".DS_Store"}
"""Names never part of a template (byte-compiled files appear when the package is imported)."""


def templates_root() -> Path:
    """The template trees shipped inside the package (``project/``, ``feature/``)."""
    return Path(str(resources.files("hyperdeliver.scaffold"))) / "templates"


@dataclass(frozen=True)
class RenderedFile:
    """One output file: its bytes and whether it is executable."""

    content: bytes
    executable: bool = False

    def write(self, path: Path) -> None:
        """Write the file (parents created), executable when the template file was."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.content)
        if self.executable:
            path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def _environment(root: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # noqa: S701 - the output is source code and Markdown, not HTML
    )
    env.filters["pyrepr"] = repr  # a Python literal: {{ depends_on | pyrepr }} -> ('hd_auth_0001',)
    return env


def render_file(root: Path, relative: str, variables: Mapping[str, Any]) -> bytes:
    """One template file under ``root`` rendered for ``variables`` (``hyper add feature``)."""
    try:
        return _environment(root).get_template(relative).render(**variables).encode()
    except jinja2.TemplateError as exc:
        raise ScaffoldError(f"template {relative}: {exc}") from None


def output_path(relative: PurePosixPath, variables: Mapping[str, Any]) -> str:
    """Where a template file lands: ``__package__`` segments replaced, ``.j2`` dropped.

    >>> output_path(PurePosixPath("__package__/app.py.j2"), {"package": "acme"})
    'acme/app.py'
    """
    parts = [str(variables["package"]) if part == PACKAGE_SEGMENT else part for part in relative.parts]
    if parts[-1].endswith(TEMPLATE_SUFFIX):
        parts[-1] = parts[-1][: -len(TEMPLATE_SUFFIX)]
    return "/".join(parts)


def render_tree(root: Path, variables: Mapping[str, Any]) -> dict[str, RenderedFile]:
    """Every file of the template tree at ``root``, rendered for ``variables``.

    Returns a mapping from the output path (POSIX, relative) to its content, sorted by
    path. Raises :class:`ScaffoldError` when a template uses an undefined variable.
    """
    if not root.is_dir():
        raise ScaffoldError(f"no template tree at {root}")
    env = _environment(root)
    out: dict[str, RenderedFile] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED)
        for filename in sorted(filenames):
            if filename in SKIPPED or filename.endswith((".pyc", ".pyo")):
                continue
            source = Path(dirpath) / filename
            relative = PurePosixPath(source.relative_to(root).as_posix())
            executable = bool(source.stat().st_mode & stat.S_IXUSR)
            if filename.endswith(TEMPLATE_SUFFIX):
                try:
                    text = env.get_template(relative.as_posix()).render(**variables)
                except jinja2.TemplateError as exc:
                    raise ScaffoldError(f"template {relative}: {exc}") from None
                content = text.encode()
            else:
                content = source.read_bytes()
            out[output_path(relative, variables)] = RenderedFile(content, executable)
    return dict(sorted(out.items()))


def write_tree(files: Mapping[str, RenderedFile], dest: Path) -> None:
    """Write rendered files under ``dest``."""
    for relative, rendered in files.items():
        rendered.write(dest / relative)


def write_atomically(path: Path, content: bytes, *, executable: bool | None = None) -> None:
    """Replace ``path`` with ``content`` in one rename: a crash leaves the old file or the
    new one, never half of either. The file's mode is kept unless ``executable`` says."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o7777 if path.exists() else 0o644
    if executable is True:
        mode |= 0o111
    elif executable is False:
        mode &= ~0o111
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
