"""The app's Alembic revisions, applied by ``hyper db upgrade`` after hyperdeliver's own.

``hyper db revision -m "what changed"`` writes the next one from the models (check it
before committing); ``hyper add feature`` writes a new feature's first one.
"""
