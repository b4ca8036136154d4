"""Session-wide settings for every test directory."""
from __future__ import annotations

import tempfile

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    """A short base temp dir per run. A simulated box keeps its supervisord
    socket under the test's tmp dir, and a unix socket path is limited to about
    100 characters: under pytest-xdist the default base (pytest-of-<user>/
    pytest-<n>/popen-gw<k>/) makes it too long. A per-run mkdtemp keeps
    concurrent runs (several checkouts, CI) apart; xdist workers inherit it."""
    if not config.option.basetemp and not hasattr(config, "workerinput"):
        config.option.basetemp = tempfile.mkdtemp(prefix="hpt-", dir="/tmp")


# Longest first: the integration tests (the slowest files first), then the simulator's, then the unit
# tests. pytest-xdist (`--dist load --maxschedchunk 2`: two tests at a time to whichever worker is free,
# in this order) then ends on short tests, instead of one worker on a minute-long test started last, or
# on a batch of integration tests handed to it at the start, while the others wait.
SLOW_FIRST = (
    "tests/integration/test_hedge_run.py",
    "tests/integration/test_rollback.py",
    "tests/integration/test_interrupts.py",
    "tests/integration/test_lock.py",
    "tests/integration/test_ssh.py",
    "tests/integration/test_bake.py",
    "tests/integration/test_check_mode.py",
    "tests/integration/test_reports.py",
    "tests/integration/test_activate.py",
)


def run_order(nodeid: str) -> tuple[int, int]:
    path = nodeid.split("::", 1)[0]
    if path in SLOW_FIRST:
        return (0, SLOW_FIRST.index(path))
    for rank, prefix in enumerate(("tests/integration/", "tests/box/"), start=1):
        if path.startswith(prefix):
            return (rank, 0)
    return (3, 0)


def pytest_collection_modifyitems(session, config, items):
    items.sort(key=lambda item: run_order(item.nodeid))  # stable: a file's own order is kept
