"""docs/api.md documents every public name, and its examples run."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import hyperdeliver

DOC = (Path(__file__).resolve().parents[1] / "docs" / "api.md").read_text()


def test_every_public_name_has_a_section() -> None:
    sections = re.findall(r"^### `(\w+)`", DOC, re.M)
    assert len(sections) == len(set(sections))
    missing = sorted(set(hyperdeliver.__all__) - set(sections))
    assert missing == [], f"docs/api.md has no '### `name`' section for {missing}"
    unknown = sorted(set(sections) - set(hyperdeliver.__all__))
    assert unknown == [], f"docs/api.md documents names that are not public: {unknown}"


def test_the_examples_run_as_one_script(tmp_path: Path) -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC, re.S)
    assert len(blocks) >= 8
    script = tmp_path / "api_examples.py"
    script.write_text("\n\n".join(blocks))
    # In a process of its own: the examples declare a model on the shared metadata.
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
