"""Interrupted runs and damaged bookkeeping: what the next run makes of them."""
from __future__ import annotations

import os
import signal
import subprocess

import pytest

from boxlib import FAST_GATES, gate_failure, kill_after_checkout, run_playbook, spawn_playbook, wait_for


def engine_version(box) -> str:
    """The running engine's version, in either shape of engine_metadata.json."""
    meta = box.engine_metadata()
    return meta.get("engine_version") or meta.get("version")


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


@pytest.fixture
def small_automation_dir(fresh_box):
    """The box's automation dir on its own 256 KiB tmpfs (unmounted in teardown)."""
    directory = fresh_box.lock_path.parent
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0750", "tmpfs", str(directory)], check=True)
    try:
        yield directory
    finally:
        subprocess.run(["umount", "-l", str(directory)], check=False)


def fill(directory):
    """Fill the filesystem of `directory` until it reports ENOSPC."""
    fd = os.open(directory / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)


def test_a_full_automation_dir_before_the_run_is_refused_by_the_lock_gate(fresh_box, small_automation_dir, tmp_path):
    """A full automation dir before anything happens: the lock cannot be written. GATE lock says so (it used to
    end the run with the module's bare ENOSPC text, no gate), and the box is left exactly as it was."""
    fill(small_automation_dir)
    before = fresh_box.snapshot()
    run = run_playbook(fresh_box, "activate.yml", tmp_path, version="v7.6")
    assert run.rc != 0
    reason = gate_failure(run.stdout, "lock")
    assert "cannot be taken" in reason and "No space left on device" in reason, run.stdout[-3000:]
    assert "nothing was changed" in reason
    assert fresh_box.snapshot() == before
    assert not fresh_box.lock_path.exists()
    assert fresh_box.foreign_state_writes() == []


def test_a_full_automation_dir_after_the_change_still_rolls_back_and_is_recorded(
        fresh_box, small_automation_dir, tmp_path):
    """The automation dir fills up right after the checkout moved: the lock's
    heartbeat cannot be written (GATE lock), the box rolls back although the
    rollback's own record cannot be written (the message names it), and the
    activation's record is closed as rolled_back in the room kept since it was
    opened (it used to stay in_progress, the rollback never ran)."""
    v76 = fresh_box.git("rev-parse", "v7.6^{commit}")
    log = tmp_path / "full.log"
    proc = spawn_playbook(fresh_box, "activate.yml", log, version="v7.6", **FAST_GATES)
    try:
        wait_for(lambda: fresh_box.head() == v76, 120, "the checkout of v7.6")
        fill(small_automation_dir)
        rc = proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    output = log.read_text()
    folded = " ".join(output.split())

    assert rc != 0
    reason = gate_failure(output, "lock")
    assert "could not be written" in reason and "No space left on device" in reason, output[-3000:]
    assert "automatic rollback to v7.5: verified" in folded, output[-3000:]
    activation, = fresh_box.history()
    assert activation["outcome"] == "rolled_back", activation
    assert "No space left on device" in activation["reason"]
    # The rollback's record could not be written, and the message names it.
    rollback_record = fresh_box.history_dir / (activation["id"] + "-rollback.json")
    assert f"history record {rollback_record} could not be written" in folded
    assert not rollback_record.exists()
    assert fresh_box.version_file() == "v7.5"
    assert engine_version(fresh_box) == "v7.5"
    assert {state for state, _pid in fresh_box.status().values()} == {"RUNNING"}
    assert not fresh_box.lock_path.exists()
    assert [p.name for p in fresh_box.history_dir.iterdir()] == [activation["id"] + ".json"]
    assert sorted(p.name for p in small_automation_dir.iterdir()) == ["filler", "history", "lock.guard"]


def restart_in_flight(box) -> bool:
    """A program of the group being stopped by the restart."""
    return any(state == "STOPPING" for state, _pid in box.status().values())


def test_ctrl_c_during_the_restart_still_starts_a_release(fresh_box, tmp_path):
    """SIGINT to ansible-playbook's process group while the restart module has
    the programs stopped: the module ignores it and starts the release (it used
    to die there, leaving every program STOPPED and the lock held); a rerun then
    converges. While the restart runs, its pid file keeps the lock from being
    taken over."""
    # The v7.5 executor takes 3 s to stop: the restart is seen stopping it.
    fresh_box.set_fault("v7.5", "slow_stop")
    proc = spawn_playbook(fresh_box, "activate.yml", tmp_path / "interrupted.log", version="v7.6", **FAST_GATES)
    try:
        wait_for(lambda: restart_in_flight(fresh_box), 180, "the restart stopping the programs")
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    wait_for(lambda: {state for state, _pid in fresh_box.status().values()} == {"RUNNING"}, 60,
             "every program RUNNING again")
    pid_file = fresh_box.lock_path.parent / "restart.pid"
    wait_for(lambda: not pid_file.exists(), 60, "the restart module to finish")

    run = run_playbook(fresh_box, "activate.yml", tmp_path, version="v7.6", **FAST_GATES)
    assert run.rc == 0, run.stdout[-3000:]
    assert fresh_box.version_file() == "v7.6"
    assert engine_version(fresh_box) == "v7.6"
    assert {state for state, _pid in fresh_box.status().values()} == {"RUNNING"}
    assert fresh_box.history()[-1]["outcome"] == "success"
    assert not fresh_box.lock_path.exists()


def test_a_release_that_exits_after_each_start_fails_the_stability_window(fresh_box, tmp_path):
    """The v7.6 executor exits 4 s after each start, past supervisor's
    startsecs, and supervisor starts it again: RUNNING at every status read,
    yet a crash loop. The restart's stability window sees the new pid, GATE
    restart.programs_running fails and the box rolls back to v7.5 (it used to
    be recorded a success)."""
    fresh_box.set_fault("v7.6", "exit_after_start")
    run = run_playbook(fresh_box, "activate.yml", tmp_path, version="v7.6", **FAST_GATES)

    assert run.rc != 0
    reason = gate_failure(run.stdout, "restart.programs_running")
    assert "not stable for 6 s after the restart: hedge-executor" in reason, run.stdout[-3000:]
    assert "automatic rollback to v7.5: verified" in " ".join(run.stdout.split())
    assert fresh_box.version_file() == "v7.5"
    assert engine_version(fresh_box) == "v7.5"
    assert {state for state, _pid in fresh_box.status().values()} == {"RUNNING"}
    activation, rollback = fresh_box.history()
    assert (activation["outcome"], activation["failed_gate"]) == ("rolled_back", "restart.programs_running")
    assert rollback["outcome"] == "success"
    assert not fresh_box.lock_path.exists()
