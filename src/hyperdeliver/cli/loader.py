"""Find the project's app: ``--app``, ``HYPER_APP``, or ``[tool.hyperdeliver] app`` in pyproject.toml."""

from __future__ import annotations

import importlib
import os
import sys
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigurationError

if TYPE_CHECKING:
    from ..app import App
    from ..settings import Settings


def app_spec(explicit: str | None = None) -> str:
    if explicit:
        return explicit
    if os.environ.get("HYPER_APP"):
        return os.environ["HYPER_APP"]
    for folder in [Path.cwd(), *Path.cwd().parents]:
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            try:
                data = tomllib.loads(pyproject.read_text())
            except tomllib.TOMLDecodeError as exc:
                raise ConfigurationError(f"{pyproject} is not valid TOML: {exc}") from None
            spec = data.get("tool", {}).get("hyperdeliver", {}).get("app")
            if spec:
                if str(folder) not in sys.path:
                    sys.path.insert(0, str(folder))
                return str(spec)
    raise ConfigurationError(
        "no app found: pass --app module:attribute, set HYPER_APP, or add [tool.hyperdeliver] app = ... to pyproject.toml"
    )


def load_app(spec: str | None = None, settings: Settings | None = None) -> App:
    """Import ``module:attribute``; an attribute that is a factory is called (with settings)."""
    from ..app import App

    spec = app_spec(spec)
    module_name, _, attr = spec.partition(":")
    if not attr:
        raise ConfigurationError(f"--app {spec!r} must look like 'package.module:app'")
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ConfigurationError(f"cannot import {module_name!r} (from --app {spec!r}): {exc}") from None
    target = getattr(module, attr, None)
    if target is None:
        raise ConfigurationError(f"{module_name!r} has no attribute {attr!r}")
    if isinstance(target, App):
        return target
    if callable(target):
        app = target(settings) if settings is not None else target()
        if isinstance(app, App):
            return app
    raise ConfigurationError(f"{spec!r} is neither a hyperdeliver App nor a function returning one")
