"""Fixtures: simulated boxes, stopped in teardown."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from boxlib import install_box, stop_box


@pytest.fixture(scope="module")
def shared_box(tmp_path_factory):
    """One v7.5 box for cases that must not change it, with broken tags: v7.7 (VERSION says v7.6),
    v7.8 (docs_version says v7.6) and v7.6.1 (no runtime sanity script)."""
    box = install_box(tmp_path_factory.mktemp("shared") / "box", "--bad-version-tag", "v7.7",
                      "--bad-docs-tag", "v7.8", "--no-sanity-tag", "v7.6.1",
                      "--supervisor-bin", str(Path(sys.executable).parent))
    yield box
    stop_box(box)


@pytest.fixture
def fresh_box(tmp_path):
    box = install_box(tmp_path / "box", "--supervisor-bin", str(Path(sys.executable).parent))
    yield box
    stop_box(box)
