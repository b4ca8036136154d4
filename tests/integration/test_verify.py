"""playbooks/verify.yml on a live box that has run for a while (issue #16 item 5)."""
from __future__ import annotations

import time

from boxlib import gate_failure, parse_timestamp, run_playbook, wait_for

LONG_UPTIME_S = 600  # tests/box/engine/hedge/executor.py LONG_UPTIME_S


def wait_for_start_time_older_than(box, age, timeout=30.0):
    """Readiness: the engine has re-read its fault file and written the old start time."""
    def started_long_ago():
        started = parse_timestamp(box.engine_metadata().get("started_ts"))
        return started is not None and time.time() - started >= age
    wait_for(started_long_ago, timeout, "engine_metadata.json to show a start older than %s s" % age)


def test_verify_passes_on_an_engine_started_long_ago(shared_box, tmp_path):
    """The v7.5 runbook shape {version, started_ts}: a start time is not a write time, so an engine
    up for 10 minutes is not stale; the surfaces gate passes and the version is what is checked."""
    shared_box.set_fault("v7.5", "long_uptime")
    try:
        wait_for_start_time_older_than(shared_box, LONG_UPTIME_S - 5)
        before = shared_box.snapshot()
        # v7.5 has no sanity script: a warning, as on a rollback (rollback_sanity_required: false)
        run = run_playbook(shared_box, "playbooks/verify.yml", tmp_path, version="v7.5", verify_surface_timeout=8,
                           verify_sanity_required=False)
        after = shared_box.snapshot()
    finally:
        shared_box.clear_faults()
    assert run.rc == 0, gate_failure(run.stdout, "verify.surfaces_fresh") or run.stdout[-3000:]
    folded = " ".join(run.stdout.split())
    assert "GATE verify.surfaces_fresh passed" in folded
    assert "GATE verify.engine_version passed: engine_metadata reports v7.5" in folded
    assert after == before
    assert shared_box.foreign_state_writes() == []



def test_rollback_to_the_live_release_on_an_engine_started_long_ago(shared_box, tmp_path):
    """A second rollback.yml in a row (the target already live, nothing restarted) on the runbook shape:
    the start time is not checked against this run (no restart), so the rollback is verified."""
    shared_box.set_fault("v7.5", "long_uptime")
    try:
        wait_for_start_time_older_than(shared_box, LONG_UPTIME_S - 5)
        before = shared_box.snapshot()
        records_before = len(shared_box.history())
        run = run_playbook(shared_box, "rollback.yml", tmp_path, version="v7.5", verify_surface_timeout=8)
        after = shared_box.snapshot()
    finally:
        shared_box.clear_faults()
    assert run.rc == 0, gate_failure(run.stdout, "verify.surfaces_fresh") or run.stdout[-3000:]
    assert "GATE verify.surfaces_fresh passed" in " ".join(run.stdout.split())
    assert after == before  # same release, same programs and pids: nothing restarted
    records = shared_box.history()
    assert len(records) == records_before + 1
    assert (records[-1]["version"], records[-1]["outcome"]) == ("v7.5", "success")
    assert shared_box.foreign_state_writes() == []
