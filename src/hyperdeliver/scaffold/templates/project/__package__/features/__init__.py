"""The product's features: one package each, owned by one engineer.

``hyper add feature NAME --owner EMAIL`` adds one (its folder, migration and tests);
``hyper owners`` lists who owns what and keeps ``.github/CODEOWNERS`` in step.
"""
