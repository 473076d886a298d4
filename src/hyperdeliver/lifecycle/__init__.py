"""Feature lifecycle and flags: ``experimental | active | deprecated | removed``, and
percentage / role rollouts, stored in the database and enforced by the front controller.

- :mod:`.states`: lifecycles, :class:`Flag`, the user bucket, the deprecation headers
- :mod:`.store`: :class:`LifecycleStore`, the tables held in memory
- :mod:`.gate`: the front controller gate (410, 404, headers)
- :mod:`.sunset`: sunset candidates from usage
"""

from __future__ import annotations

from .plugin import LifecyclePlugin
from .states import LIFECYCLES, FeatureState, Flag, bucket
from .store import LifecycleError, LifecycleStore

__all__ = ["LIFECYCLES", "FeatureState", "Flag", "LifecycleError", "LifecyclePlugin", "LifecycleStore", "bucket"]
