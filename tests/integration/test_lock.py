"""The per-box lock: concurrent runs, abandoned locks, interrupted activations."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from boxlib import REPO, gate_failure, install_box, kill_after_checkout, run_playbook, spawn_playbook, stop_box


def test_two_concurrent_activations_exactly_one_proceeds(fresh_box, tmp_path):
    logs = [tmp_path / "run-a.log", tmp_path / "run-b.log"]
    procs = [spawn_playbook(fresh_box, "activate.yml", log, version="v7.6") for log in logs]
    codes = [proc.wait(timeout=300) for proc in procs]
    outputs = [log.read_text() for log in logs]

    assert sorted(codes) == [0, 2], outputs
    loser = outputs[codes.index(2)]
    reason = gate_failure(loser, "lock")
    assert "is locked by activation v7.6 of" in reason and "since 20" in reason, loser[-2000:]
    assert fresh_box.version_file() == "v7.6"
    assert not fresh_box.lock_path.exists()
    # Only the winner recorded a run; the refused one never got the lock.
    assert [r["outcome"] for r in fresh_box.history()] == ["success"]


def test_lock_of_a_dead_run_is_taken_over(fresh_box, tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    fresh_box.lock_path.parent.mkdir(parents=True, exist_ok=True)
    fresh_box.lock_path.write_text(json.dumps({
        "run_id": "20261125T000000Z-deadbeef",
        "holder": {"operator": "alice", "controller": socket.gethostname(), "controller_pid": dead.pid,
                   "kind": "activation", "version": "v7.6"},
        "acquired_at": "2026-11-25T00:00:00Z", "acquired_ts": time.time(), "heartbeat_ts": time.time(),
    }))
    run = run_playbook(fresh_box, "activate.yml", tmp_path, version="v7.6")
    assert run.rc == 0, run.stdout[-3000:]
    assert "taken over from run 20261125T000000Z-deadbeef: holder gone" in " ".join(run.stdout.split())
    assert not fresh_box.lock_path.exists()


def lock_by_a_live_run_elsewhere(box) -> dict:
    """Write the lock of a rollback v7.5 that bob runs from another controller
    right now (fresh heartbeat); return it."""
    box.lock_path.parent.mkdir(parents=True, exist_ok=True)
    lock = {
        "run_id": "20261125T000000Z-0ther0ne",
        "holder": {"operator": "bob", "controller": "ops-bastion-2", "controller_pid": 4242,
                   "kind": "rollback", "version": "v7.5"},
        "acquired_at": "2026-11-25T09:00:00Z", "acquired_ts": time.time(), "heartbeat_ts": time.time(),
    }
    box.lock_path.write_text(json.dumps(lock))
    return lock


def test_lock_of_a_live_run_elsewhere_is_respected(fresh_box, tmp_path):
    lock = lock_by_a_live_run_elsewhere(fresh_box)
    before = fresh_box.snapshot()
    run = run_playbook(fresh_box, "activate.yml", tmp_path, version="v7.6")
    assert run.rc != 0
    reason = gate_failure(run.stdout, "lock")
    assert "locked by rollback v7.5 of bob" in reason and "since 2026-11-25T09:00:00Z" in reason
    assert fresh_box.snapshot() == before
    assert json.loads(fresh_box.lock_path.read_text())["run_id"] == lock["run_id"], "someone else's lock was touched"


def test_interrupted_activation_converges_when_run_again(fresh_box, tmp_path):
    kill_after_checkout(fresh_box, tmp_path)
    assert fresh_box.lock_path.exists(), "the killed run should have left its lock"

    run = run_playbook(fresh_box, "activate.yml", tmp_path, version="v7.6")
    assert run.rc == 0, run.stdout[-3000:]
    assert fresh_box.version_file() == "v7.6"
    assert fresh_box.engine_metadata()["engine_version"] == "v7.6"
    assert fresh_box.healthz() == 200
    killed, converged = fresh_box.history()
    assert killed["outcome"] == "interrupted"
    assert converged["outcome"] == "success"
    # What was live before the interrupted run is still known as the way back.
    assert converged["previous_version"] == "v7.5"


def test_a_locked_box_in_a_batch_does_not_strand_its_partner(fresh_box, tmp_path):
    """Two boxes in one batch, the first locked by a live run elsewhere: it is
    refused naming GATE lock and left as it was (its lock too); its partner,
    which took its own lock, finishes its activation and releases its lock,
    and the run fails (the batch had a failed box)."""
    partner = install_box(tmp_path / "partner", "--supervisor-bin", str(Path(sys.executable).parent))
    try:
        lock = lock_by_a_live_run_elsewhere(fresh_box)
        before = fresh_box.snapshot()
        inventory = tmp_path / "inventory"
        inventory.mkdir()
        (inventory / "group_vars").symlink_to(REPO / "inventories" / "local" / "group_vars")
        (inventory / "hosts.yml").write_text(json.dumps({"hedge_boxes": {"hosts": {
            name: {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                   "hedge_local_prefix": str(box.prefix)}
            for name, box in (("locked", fresh_box), ("partner", partner))}}}))
        env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
               "HEDGE_OPSLOG_DIR": str(tmp_path / "opslog"), "HEDGE_REPORT_DIR": str(tmp_path / "reports")}
        proc = subprocess.run(
            [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory / "hosts.yml"), "activate.yml",
             "-e", "version=v7.6", "-e", "hedge_canary=100%"],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)
        output = proc.stdout + proc.stderr
        assert proc.returncode == 2, output[-3000:]
        assert "locked by rollback v7.5 of bob" in gate_failure(output, "lock"), output[-3000:]
        assert fresh_box.snapshot() == before
        assert json.loads(fresh_box.lock_path.read_text())["run_id"] == lock["run_id"], "someone else's lock was touched"
        assert fresh_box.history() == []
        assert partner.version_file() == "v7.6"
        assert partner.engine_metadata()["engine_version"] == "v7.6"
        assert [r["outcome"] for r in partner.history()] == ["success"]
        assert not partner.lock_path.exists(), "the partner's lock was left behind"
        summary, = (tmp_path / "reports").glob("fleet-summary-*.json")
        rows = {row["box"]: row for row in json.loads(summary.read_text())["rows"]}
        assert (rows["locked"]["outcome"], rows["locked"]["failed_gate"]) == ("refused", "lock")
        assert (rows["partner"]["outcome"], rows["partner"]["version_after"]) == ("success", "v7.6")
    finally:
        stop_box(partner)


@pytest.mark.parametrize("playbook, version", [("activate.yml", "v7.6"), ("rollback.yml", "v7.5")])
def test_a_history_that_cannot_be_read_does_not_leave_the_lock(fresh_box, tmp_path, playbook, version):
    """The lock is taken, then the history record cannot be opened (the history
    path is a file): the run fails naming the history, changes nothing, and
    releases the lock it took instead of leaving it for the next run."""
    fresh_box.history_dir.parent.mkdir(parents=True, exist_ok=True)
    fresh_box.history_dir.write_text("not a directory\n")
    before = fresh_box.snapshot()
    run = run_playbook(fresh_box, playbook, tmp_path, version=version)
    assert run.rc != 0
    folded = " ".join(run.stdout.split())
    assert "Open this run's history record" in folded and str(fresh_box.history_dir) in folded, run.stdout[-3000:]
    assert fresh_box.snapshot() == before
    assert not fresh_box.lock_path.exists(), "the lock was left behind"
    assert fresh_box.history_dir.read_text() == "not a directory\n"


@pytest.mark.parametrize("content", [b"\x00\x17garbage", b"{}", b""], ids=["garbage", "empty-object", "empty"])
def test_an_unreadable_lock_is_refused_naming_the_way_to_break_it(shared_box, tmp_path, content):
    """An unreadable lock file says nothing about its holder: it is not taken
    over as if the holder were gone; the run refuses naming the file and the
    deliberate way to break it, and changes nothing (the lock file neither)."""
    box = shared_box
    box.lock_path.parent.mkdir(parents=True, exist_ok=True)
    box.lock_path.write_bytes(content)
    try:
        before = box.snapshot()
        history_before = box.history()
        run = run_playbook(box, "activate.yml", tmp_path, version="v7.6")
        assert run.rc != 0
        reason = gate_failure(run.stdout, "lock")
        assert f"lock file {box.lock_path} cannot be read" in reason, run.stdout[-3000:]
        assert "-e ledger_break_lock=true" in reason
        assert box.snapshot() == before
        assert box.lock_path.read_bytes() == content
        assert box.history() == history_before
    finally:
        box.lock_path.unlink()


def test_an_unreadable_lock_is_broken_deliberately_and_recorded(fresh_box, tmp_path):
    fresh_box.lock_path.parent.mkdir(parents=True, exist_ok=True)
    fresh_box.lock_path.write_text("{}")
    run = run_playbook(fresh_box, "activate.yml", tmp_path, version="v7.6", ledger_break_lock=True)
    assert run.rc == 0, run.stdout[-3000:]
    assert "(taken over: broken deliberately (break_lock))" in " ".join(run.stdout.split())
    assert fresh_box.version_file() == "v7.6"
    assert not fresh_box.lock_path.exists()
    record, = fresh_box.history()
    assert record["outcome"] == "success"
    assert record["lock_broken"]["reason"] == "broken deliberately (break_lock)"
    assert record["lock_broken"]["error"] == "no run_id" and record["lock_broken"]["raw"] == "{}"
