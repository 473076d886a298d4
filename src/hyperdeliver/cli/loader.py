"""Find the project's app: ``--app``, ``HYPER_APP``, or ``[tool.hyperdeliver] app`` in pyproject.toml."""

from __future__ import annotations

import importlib
import os
import sys
import tomllib
from pathlib import Path
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError

if TYPE_CHECKING:
    from ..app import App
    from ..settings import Settings


def app_spec(explicit: str | None = None, start: Path | None = None) -> str:
    """``module:attribute`` of the app: ``explicit``, else ``HYPER_APP``, else
    ``[tool.hyperdeliver] app`` of the nearest pyproject.toml from ``start`` (the current
    folder) upwards, whose folder is then put on ``sys.path``."""
    if explicit:
        return explicit
    if os.environ.get("HYPER_APP"):
        return os.environ["HYPER_APP"]
    here = (start or Path.cwd()).resolve()
    for folder in [here, *here.parents]:
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

    target = _target(app_spec(spec))
    if isinstance(target, App):
        return target
    return app_factory(spec)(settings)


def app_factory(spec: str | None = None, start: Path | None = None) -> Callable[[Settings | None], App]:
    """The app's factory, ``settings -> App``: the ``create_app(settings=None)`` that
    ``spec`` names (the testing kit builds one app per test, each with its own settings)."""
    from ..app import App

    spec = app_spec(spec, start)
    target = _target(spec)
    if isinstance(target, App):
        raise ConfigurationError(
            f"{spec!r} is an App, not a function returning one: point at a factory such as "
            "'acme.app:create_app' (def create_app(settings=None) -> App)"
        )
    if not callable(target):
        raise ConfigurationError(f"{spec!r} is neither a hyperdeliver App nor a function returning one")

    def build(settings: Settings | None = None) -> App:
        app = target(settings) if settings is not None else target()
        if not isinstance(app, App):
            raise ConfigurationError(f"{spec!r} returned {type(app).__name__}, not a hyperdeliver App")
        return app

    return build


def _target(spec: str) -> Any:
    """The object ``module:attribute`` names (imported from the current folder too)."""
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
    return target
