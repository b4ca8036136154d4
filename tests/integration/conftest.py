"""Fixtures: simulated boxes, stopped in teardown."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from boxlib import install_box, stop_box


@pytest.fixture(scope="module")
def shared_box(tmp_path_factory):
    """One v7.5 box (with a v7.7 tag whose VERSION says v7.6) for cases that must not change it."""
    box = install_box(tmp_path_factory.mktemp("shared") / "box", "--bad-version-tag", "v7.7",
                      "--supervisor-bin", str(Path(sys.executable).parent))
    yield box
    stop_box(box)


@pytest.fixture
def fresh_box(tmp_path):
    box = install_box(tmp_path / "box", "--supervisor-bin", str(Path(sys.executable).parent))
    yield box
    stop_box(box)
