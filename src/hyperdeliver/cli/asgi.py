"""``hyperdeliver.cli.asgi:app``: the app named by HYPER_APP, for uvicorn (and its reloader)."""

from __future__ import annotations

from .loader import load_app

app = load_app()
