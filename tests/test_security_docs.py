"""docs/security.md: its example runs, and every setting its table names exists with the default it states."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from hyperdeliver import Settings

DOC = (Path(__file__).resolve().parents[1] / "docs" / "security.md").read_text()


def test_the_example_runs(tmp_path: Path) -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC, re.S)
    assert blocks
    script = tmp_path / "security_examples.py"
    script.write_text("\n\n".join(blocks))
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]


def test_every_setting_in_the_table_exists_with_its_stated_default() -> None:
    rows = re.findall(r"^\| `(\w+)` \| ([^|]+) \|", DOC, re.M)
    settings = {name: row_default for name, row_default in rows if not name.startswith("hd")}
    assert len(settings) >= 10
    defaults = Settings()
    for name, stated in settings.items():
        assert name in Settings.model_fields, name
        value = getattr(defaults, name)
        literal = re.fullmatch(r"`([^`]*)`", stated.strip())
        if literal:  # a stated literal default matches the field's
            assert str(value).lower() == literal.group(1).lower(), (name, value, stated)
