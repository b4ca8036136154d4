"""pytest config for tests/box: the engine's own tests run inside a box (make pretag-*), not here."""
collect_ignore = ["engine"]
