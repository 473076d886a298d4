"""Delivery: deployment records with their status and commits, and DORA's four keys.

- :mod:`.records`: a deployment and its commits as plain data; statuses
- :mod:`.store`: record (insert or update by id) and read deployments
- :mod:`.gitlog`: the commits between two revisions and the features they touched
- :mod:`.dora`: the four keys and their bands (pure)
- :mod:`.report`: the figures per product, feature and owner for an app
- :mod:`.api`: ``POST /_hyper/api/releases`` for CD systems that cannot run the CLI
"""

from __future__ import annotations

from .records import STATUSES, Commit, Deployment

__all__ = ["STATUSES", "Commit", "Deployment"]
