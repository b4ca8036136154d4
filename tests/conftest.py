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
