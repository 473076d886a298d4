"""The manifest templates ship in the wheel (package-data), every one of them, and the lint skips list."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "src" / "hyperdeliver" / "deploy" / "templates"


def test_every_template_is_in_the_wheel(tmp_path: Path) -> None:
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "var", "tests", "bench"))
    run = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path / "out"), str(source)],
        capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    [wheel] = (tmp_path / "out").glob("hyperdeliver-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    templates = sorted(f"hyperdeliver/deploy/templates/{p.relative_to(TEMPLATES)}" for p in TEMPLATES.rglob("*") if p.is_file())
    assert len(templates) >= 15
    assert [t for t in templates if t not in shipped] == []
    assert "hyperdeliver/deploy/lint-skips.txt" in shipped  # hyper k8s render annotates from it
