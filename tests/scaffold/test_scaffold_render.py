"""The template contract: ``.j2`` rendered (strictly), other files copied byte for byte,
``__package__`` segments renamed, dotfiles and the executable bit kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from hyperdeliver.scaffold.project import ScaffoldError
from hyperdeliver.scaffold.render import render_file, render_tree, write_tree


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "template"
    (root / "__package__" / "features").mkdir(parents=True)
    (root / ".github" / "workflows").mkdir(parents=True)
    (root / "__package__" / "app.py.j2").write_text('NAME = "{{ name }}"\nPACKAGE = "{{ package }}"\n\n')
    (root / "__package__" / "features" / "raw.py").write_bytes(b"{{ not rendered }}\r\n\x00\xff")
    (root / ".gitignore").write_text(".venv/\n")
    (root / ".github" / "workflows" / "ci.yml.j2").write_text("name: {{ name }} CI\n")
    script = root / "dev.j2"
    script.write_text("#!/bin/sh\necho {{ name }}\n")
    script.chmod(0o755)
    cache = root / "__package__" / "__pycache__"
    cache.mkdir()
    (cache / "app.cpython-311.pyc").write_bytes(b"junk")
    return root


def test_j2_files_are_rendered_and_others_copied_byte_for_byte(tree: Path) -> None:
    files = render_tree(tree, {"name": "acme-shop", "package": "acme_shop"})
    assert sorted(files) == [
        ".github/workflows/ci.yml",
        ".gitignore",
        "acme_shop/app.py",
        "acme_shop/features/raw.py",
        "dev",
    ]
    # keep_trailing_newline: the blank line at the end survives.
    assert files["acme_shop/app.py"].content == b'NAME = "acme-shop"\nPACKAGE = "acme_shop"\n\n'
    assert files["acme_shop/features/raw.py"].content == b"{{ not rendered }}\r\n\x00\xff"
    assert files[".github/workflows/ci.yml"].content == b"name: acme-shop CI\n"


def test_the_executable_bit_survives_rendering_and_writing(tree: Path, tmp_path: Path) -> None:
    files = render_tree(tree, {"name": "acme", "package": "acme"})
    assert files["dev"].executable and not files[".gitignore"].executable
    write_tree(files, tmp_path / "out")
    assert (tmp_path / "out" / "dev").stat().st_mode & 0o111 == 0o111
    assert (tmp_path / "out" / ".gitignore").stat().st_mode & 0o111 == 0
    assert (tmp_path / "out" / ".github" / "workflows" / "ci.yml").is_file()


def test_an_undefined_variable_is_an_error_naming_the_template(tree: Path) -> None:
    with pytest.raises(ScaffoldError, match=r"__package__/app.py.j2: 'package' is undefined"):
        render_tree(tree, {"name": "acme"})


def test_render_file_renders_one_template_with_python_literals(tmp_path: Path) -> None:
    (tmp_path / "m.py.j2").write_text("down = {{ down | pyrepr }}\nlabels = {{ labels | pyrepr }}\n")
    out = render_file(tmp_path, "m.py.j2", {"down": None, "labels": ("acme",)})
    assert out == b"down = None\nlabels = ('acme',)\n"


def test_a_missing_tree_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ScaffoldError, match="no template tree"):
        render_tree(tmp_path / "nowhere", {})
