"""hedge_run (the package at the repo top level) importable from its unit tests;
real ansible-runner events recorded from activations of a simulated box."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
EVENTS = Path(__file__).resolve().parent / "events"
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def load_events(name: str) -> list[dict]:
    return [json.loads(line) for line in (EVENTS / name).read_text().splitlines() if line.strip()]


@pytest.fixture
def ok_events():
    """activate.yml -e version=v7.6 on a v7.5 box: a selection of its events, in order."""
    return load_events("activate_v76_ok.jsonl")


@pytest.fixture
def refused_events():
    """activate.yml -e version=v9.9 (no such tag): refused by gate preflight.tag_exists."""
    return load_events("activate_v99_refused.jsonl")
