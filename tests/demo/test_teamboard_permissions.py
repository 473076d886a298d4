"""Teamboard's permission matrix: every operation x every caller, generated from the registry.

The same one line a generated project has; the app is teamboard through
``[tool.hyperdeliver] app`` in this repository's pyproject.toml.
"""

from hyperdeliver.testing import permission_matrix

test_permission_matrix = permission_matrix()
