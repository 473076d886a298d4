"""The ``hyper`` command line."""
