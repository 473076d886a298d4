"""One package per feature; each is owned by one engineer."""
