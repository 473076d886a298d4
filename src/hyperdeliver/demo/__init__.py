"""The demo's synthetic traffic: ``hyper demo --simulate 30d`` (see :mod:`.simulate`)."""

from __future__ import annotations
