"""Feature: where a feature's code lives (its module and folder), read by owners and releases."""

from __future__ import annotations

from pathlib import Path

from hyperdeliver import Feature
from hyperdeliver.demo.teamboard.features import tasks


def test_a_feature_declared_in_a_package_is_that_packages_folder() -> None:
    assert tasks.feature.module == "hyperdeliver.demo.teamboard.features.tasks"
    assert tasks.feature.folder == Path(tasks.__file__).resolve().parent


def test_a_feature_declared_in_a_module_is_that_file_and_in_a_shell_none() -> None:
    here = Feature("here", owner="ada@example.com")
    assert here.module == __name__ and here.folder == Path(__file__).resolve()
    nowhere = Feature("nowhere", owner="ada@example.com", module="not.imported")
    assert nowhere.folder is None
