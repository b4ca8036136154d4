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


@pytest.fixture
def slow_pretag_events():
    """activate.yml -e version=v7.6 with a make pretag 20 s longer (fault pretag_slow; the task took 30 s): the async preflight task
    (task start, runner_on_start, three runner_on_async_poll, its result), then GATE preflight.pretag."""
    return load_events("activate_v76_slow_pretag.jsonl")


@pytest.fixture
def rolled_back_events():
    """activate.yml -e version=v7.6 with fault wrong_engine_version on v7.6: GATE verify.engine_version failed,
    automatic rollback to v7.5 verified (history records, the fleet summary row, the failures, the stats)."""
    return load_events("activate_v76_rolled_back.jsonl")


@pytest.fixture
def rollback_failed_events():
    """As rolled_back_events, with crash_at_boot on v7.5 too: the automatic rollback's restart fails."""
    return load_events("activate_v76_rollback_failed.jsonl")
