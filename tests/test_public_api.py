"""The public API is exactly what ``hyperdeliver.__all__`` lists, each name documented."""

from __future__ import annotations

import hyperdeliver


def test_every_public_name_is_importable_and_documented() -> None:
    assert len(hyperdeliver.__all__) == len(set(hyperdeliver.__all__))
    for name in hyperdeliver.__all__:
        value = getattr(hyperdeliver, name)
        if callable(value) and not isinstance(value, (str, frozenset)):
            assert (value.__doc__ or "").strip(), f"{name} has no docstring"


def test_no_public_class_or_function_is_left_out_of_all() -> None:
    exported = set(hyperdeliver.__all__)
    for name, value in vars(hyperdeliver).items():
        if name.startswith("_") or isinstance(value, type(hyperdeliver)):
            continue
        if callable(value):
            assert name in exported, f"{name} is imported into hyperdeliver but not in __all__"
