"""Testing helpers: an in-process client that speaks to the app over ASGI.

Example:
    async with TestClient(app) as client:
        await client.login("ada@example.com", "correct horse")
        r = await client.post("/tasks", json={"title": "x"})   # CSRF header added for you
"""

from .client import TestClient

__all__ = ["TestClient"]
