"""Project generation: ``hyper new``, ``hyper add feature``, ``hyper owners`` and ``hyper upgrade``.

The templates are files under ``templates/`` (``project/`` for a new project, ``feature/``
for ``hyper add feature``), rendered by :mod:`hyperdeliver.scaffold.render`.
"""
