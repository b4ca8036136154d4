"""Interrupted runs and damaged bookkeeping: what the next run makes of them."""
from __future__ import annotations

import os
import signal
import time

from boxlib import FAST_GATES, gate_failure, run_playbook, spawn_playbook


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def engine_version(box) -> str:
    """The running engine's version, in either shape of engine_metadata.json."""
    meta = box.engine_metadata()
    return meta.get("engine_version") or meta.get("version")


def kill_after_checkout(box, tmp_path):
    """Start an activation of v7.6 and kill -9 its process group as soon as the
    checkout is at the tag (the engine still runs v7.5)."""
    v76 = box.git("rev-parse", "v7.6^{commit}")
    proc = spawn_playbook(box, "activate.yml", tmp_path / "killed.log", version="v7.6")
    try:
        wait_for(lambda: box.head() == v76, 120, "the checkout of v7.6")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_truncated_record_of_an_interrupted_run_refuses_before_any_change(fresh_box, tmp_path):
    """kill -9 right after the checkout moved, and the killed run's record is
    truncated: the next activation cannot tell which release was live before, so
    it refuses naming the unreadable record instead of guessing (it used to take
    the live checkout, v7.6, as the way back, and its automatic rollback to v7.6
    failed, leaving the broken release running)."""
    fresh_box.set_fault("v7.6", "wrong_engine_version")
    kill_after_checkout(fresh_box, tmp_path)
    record, = fresh_box.history_dir.glob("*.json")
    text = record.read_text()
    record.write_text(text[:len(text) // 2])
    before = fresh_box.snapshot()
    assert before["version"] == "v7.6"

    run = run_playbook(fresh_box, "activate.yml", tmp_path, version="v7.6", **FAST_GATES)

    folded = " ".join(run.stdout.split())
    assert run.rc != 0
    reason = gate_failure(run.stdout, "rollback.target")
    assert "cannot be established" in reason and str(record) in reason, run.stdout[-3000:]
    assert "GATE rollback.target passed" not in folded
    assert f"history record {record} cannot be read and was skipped" in folded
    # Nothing changed: the checkout, the programs (same pids), the engine still on v7.5.
    assert fresh_box.snapshot() == before
    assert engine_version(fresh_box) == "v7.5"
    # No record written or closed, the damaged one kept as evidence; the lock released.
    assert list(fresh_box.history_dir.glob("*.json")) == [record]
    assert record.read_text() == text[:len(text) // 2]
    assert not fresh_box.lock_path.exists()
    assert fresh_box.foreign_state_writes() == []
