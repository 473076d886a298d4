"""Ops monitoring: ``/healthz``, ``/readyz`` and ``/metrics`` (Prometheus text)."""

from __future__ import annotations

from .plugin import OpsPlugin

__all__ = ["OpsPlugin"]
