"""rollback.yml and the automatic rollback of activate.yml on local boxes."""
from __future__ import annotations

import json
import re

import pytest

from boxlib import EARLY_VERDICTS, FAST_GATES, LOCAL_CASES, gate_failure, run_playbook

PROGRAMS = ("hedge-executor", "hedge-dashboard", "hedge-sync_state")


def assert_live(box, version):
    """`version` checked out, every program RUNNING, the engine reporting it, dashboard up."""
    assert box.git("describe", "--tags", "--exact-match") == version
    assert box.version_file() == version
    assert {p: s for p, (s, _pid) in box.status().items()} == {p: "RUNNING" for p in PROGRAMS}
    meta = box.engine_metadata()
    assert meta.get("engine_version", meta.get("version")) == version
    assert box.healthz() == 200


def test_rollback_without_history_or_version_is_refused(fresh_box, tmp_path):
    before = fresh_box.snapshot()
    run = run_playbook(fresh_box, "rollback.yml", tmp_path)
    assert run.rc != 0
    assert "no activation history on localbox and no version given" in gate_failure(run.stdout, "rollback.target")
    assert fresh_box.snapshot() == before
    assert not fresh_box.lock_path.exists()


def test_rollback_refused_by_a_gate_is_recorded_as_refused(fresh_box, tmp_path):
    """A rollback that a gate refuses before any change is `refused`, as an activation would be."""
    before = fresh_box.snapshot()
    run = run_playbook(fresh_box, "rollback.yml", tmp_path, version="v7.9")
    assert run.rc != 0
    assert "tag v7.9 not found" in gate_failure(run.stdout, "preflight.tag_exists"), run.stdout[-3000:]
    assert run.stdout.count("GATE preflight.tag_exists FAILED") == 1 and "{{" not in run.stdout
    assert fresh_box.snapshot() == before
    record = fresh_box.history()[-1]
    assert (record["kind"], record["version"], record["outcome"], record["failed_gate"]) == \
        ("rollback", "v7.9", "refused", "preflight.tag_exists")
    assert record["next"] == "push tag v7.9 to origin (or fix -e version), then run again"
    assert "rollback of v7.9 on localbox refused at gate preflight.tag_exists: nothing was changed" in run.stdout


def test_activate_then_rollback_without_arguments(fresh_box, tmp_path):
    activation = run_playbook(fresh_box, "activate.yml", tmp_path, version="v7.6")
    assert activation.rc == 0, activation.stdout[-3000:]
    assert_live(fresh_box, "v7.6")

    rollback = run_playbook(fresh_box, "rollback.yml", tmp_path)
    assert rollback.rc == 0, rollback.stdout[-3000:]
    assert_live(fresh_box, "v7.5")
    assert "GATE rollback.target passed: v7.5 (live before activation" in rollback.stdout
    assert "GATE verify.boot_line passed: Engine version: v7.5" in rollback.stdout
    # v7.5 ships no sanity script and lacks v7.6-only fields: reported, not fatal.
    assert "GATE verify.sanity WARNING: scripts/runtime_sanity_check_v7_5.py missing" in rollback.stdout
    assert not fresh_box.lock_path.exists()

    activation_record, rollback_record = fresh_box.history()
    assert activation_record["kind"] == "activation" and activation_record["outcome"] == "success"
    assert activation_record["version"] == "v7.6" and activation_record["previous_version"] == "v7.5"
    assert activation_record["commit"] == fresh_box.git("rev-parse", "v7.6^{commit}")
    assert rollback_record["kind"] == "rollback" and rollback_record["outcome"] == "success"
    assert rollback_record["version"] == "v7.5" and rollback_record["previous_version"] == "v7.6"
    assert rollback_record["commit"] == fresh_box.head()
    for record in (activation_record, rollback_record):
        assert record["finished_at"] >= record["started_at"]
        assert record["operator"]


@pytest.fixture(scope="module")
def rollback_box(tmp_path_factory):
    """One v7.5 box reused by the fault cases: each must end with v7.5 live again."""
    import sys
    from pathlib import Path

    from boxlib import install_box, stop_box

    box = install_box(tmp_path_factory.mktemp("auto") / "box", "--bad-version-tag", "v7.7",
                      "--supervisor-bin", str(Path(sys.executable).parent))
    yield box
    stop_box(box)



@pytest.mark.parametrize(("fault", "gate"), LOCAL_CASES, ids=[c[0] for c in LOCAL_CASES])
def test_failed_gate_rolls_back_automatically(rollback_box, tmp_path, fault, gate):
    box = rollback_box
    assert_live(box, "v7.5")
    box.set_fault("v7.6", fault)
    try:
        run = run_playbook(box, "activate.yml", tmp_path, version="v7.6", **FAST_GATES)
    finally:
        box.clear_faults()

    assert run.rc != 0
    failure = gate_failure(run.stdout, gate)
    assert failure, run.stdout[-3000:]
    assert "automatic rollback to v7.5: verified" in " ".join(run.stdout.split())
    assert_live(box, "v7.5")
    assert not box.lock_path.exists()
    activation, rollback = box.history()[-2:]
    assert activation["kind"] == "activation" and activation["version"] == "v7.6"
    assert activation["outcome"] == "rolled_back" and activation["failed_gate"] == gate
    if fault in EARLY_VERDICTS:
        # judged at the first conclusive read, not after verify_surface_timeout
        assert EARLY_VERDICTS[fault] in activation["reason"], activation["reason"]
        assert "not waiting out the timeout" in activation["reason"]
    # said once, then the outcome and the runbook's next step, the same as in the record
    assert run.stdout.count(f"GATE {gate} FAILED") == 1 and "{{" not in run.stdout
    assert activation["reason"] in " ".join(run.stdout.split())
    assert activation["next"].startswith(f"v7.5 is live and verified; inspect {box.info['executor_err_log']}")
    assert f"next: {activation['next']}" in run.stdout
    assert f"activation of v7.6 on localbox rolled back after gate {gate}: v7.5 restored and verified" in run.stdout
    assert rollback["kind"] == "auto_rollback" and rollback["rollback_of"] == activation["id"]
    assert rollback["outcome"] == "success" and rollback["version"] == "v7.5"
    assert box.foreign_state_writes() == []
    # The fast path: the activation's preflight checked that v7.5 is on the box, so after the failed gate
    # the rollback runs no pre-check (no preflight gate, no clean-checkout gate): it checks out the commit,
    # restarts and verifies v7.5, gate by gate.
    before, after = " ".join(run.stdout.split()).split(f"GATE {gate} FAILED", 1)
    assert "GATE preflight.rollback_ready passed: v7.5 at " in before
    assert gates_in(after)[:3] == ["rollback.target", "deploy.checkout", "restart.programs_running"], after
    assert not [name for name in gates_in(after) if name.startswith("preflight.") or name == "deploy.clean_checkout"]
    for passed in ("deploy.checkout passed: {checkout} at v7.5", "verify.boot_line passed: Engine version: v7.5",
                   "verify.engine_version passed: engine_metadata reports v7.5", "verify.dashboard_healthz passed"):
        assert "GATE " + passed.format(checkout=box.checkout) in after, passed


def gates_in(output: str) -> list[str]:
    """The gate names of the GATE lines of an output, in order."""
    return re.findall(r"GATE (\S+) (?:passed|FAILED|WARNING|NOT CHECKED)", output)


def test_a_previous_release_that_is_not_on_the_box_refuses_before_any_change(fresh_box, tmp_path):
    """GATE preflight.rollback_ready: the release to come back to (here, after an interrupted run whose record
    names a commit this checkout does not have) must be on the box before the activation changes anything: the
    automatic rollback does no fetch and no pre-check of its own. Refused, nothing changed, the record says why."""
    missing = "0123456789abcdef" * 2 + "01234567"
    live = fresh_box.head()
    fresh_box.history_dir.mkdir(parents=True)
    (fresh_box.history_dir / "20261201T000000Z-0badc0de.json").write_text(json.dumps({
        "id": "20261201T000000Z-0badc0de", "kind": "activation", "version": "v7.5", "outcome": "in_progress",
        "started_at": "2026-12-01T00:00:00Z", "previous_version": "v7.4", "previous_commit": missing}))
    before = fresh_box.snapshot()

    run = run_playbook(fresh_box, "activate.yml", tmp_path, version="v7.6")

    assert run.rc != 0
    reason = gate_failure(run.stdout, "preflight.rollback_ready")
    assert f"commit {missing[:12]} of v7.4 is not in the object store of {fresh_box.checkout}" in reason, run.stdout[-3000:]
    assert "GATE deploy." not in run.stdout and "GATE restart." not in run.stdout
    assert fresh_box.snapshot() == before and fresh_box.head() == live
    record = fresh_box.history()[-1]
    assert (record["version"], record["outcome"], record["failed_gate"], record["rollback"]) == \
        ("v7.6", "refused", "preflight.rollback_ready", "not_needed")
    assert record["next"].startswith("bring v7.4 back onto the box")
    assert "activation of v7.6 on localbox refused at gate preflight.rollback_ready: nothing was changed" in run.stdout
    assert not fresh_box.lock_path.exists()
    assert fresh_box.foreign_state_writes() == []


def test_checkout_not_at_tag_rolls_back(rollback_box, tmp_path):
    """deploy.checkout: a stray post-checkout hook moves HEAD from the v7.6 tag to
    v7.7's commit, whose VERSION also says v7.6: only the commit tells them apart."""
    box = rollback_box
    assert_live(box, "v7.5")
    v76, v77 = box.git("rev-parse", "v7.6^{commit}"), box.git("rev-parse", "v7.7^{commit}")
    hook = box.checkout / ".git" / "hooks" / "post-checkout"
    hook.write_text(f'#!/bin/sh\n[ "$2" = "{v76}" ] && exec git checkout -q --detach {v77}\nexit 0\n')
    hook.chmod(0o755)
    try:
        run = run_playbook(box, "activate.yml", tmp_path, version="v7.6", **FAST_GATES)
    finally:
        hook.unlink()

    assert run.rc != 0
    failure = gate_failure(run.stdout, "deploy.checkout")
    assert failure, run.stdout[-3000:]
    assert f"is at {v77[:12]} (VERSION v7.6), expected v7.6 ({v76[:12]})" in failure
    assert "GATE restart.programs_running" not in run.stdout.split("GATE deploy.checkout FAILED")[0]
    assert "automatic rollback to v7.5: verified" in " ".join(run.stdout.split())
    assert_live(box, "v7.5")
    assert not box.lock_path.exists()
    activation, rollback = box.history()[-2:]
    assert (activation["version"], activation["outcome"], activation["failed_gate"]) == \
        ("v7.6", "rolled_back", "deploy.checkout")
    assert rollback["kind"] == "auto_rollback" and rollback["rollback_of"] == activation["id"]
    assert (rollback["outcome"], rollback["version"], rollback["previous_commit"]) == ("success", "v7.5", v77)
    assert box.foreign_state_writes() == []


def test_rollback_that_moved_the_checkout_is_failed_not_refused(fresh_box, tmp_path):
    """rollback.yml, deploy.checkout: a stray post-checkout hook commits on top of the target's tag, so
    the gate fails after the checkout moved. The box was changed: the rollback is `failed` (the deploy
    role notes deploy_changed before its gate), never `refused` / "nothing was changed"."""
    v75, v76 = fresh_box.head(), fresh_box.git("rev-parse", "v7.6^{commit}")
    hook = fresh_box.checkout / ".git" / "hooks" / "post-checkout"
    hook.write_text(f'#!/bin/sh\n[ "$2" = "{v76}" ] && exec git -c user.name=hook -c user.email=hook@box '
                    'commit -q --allow-empty -m stray\nexit 0\n')
    hook.chmod(0o755)
    try:
        run = run_playbook(fresh_box, "rollback.yml", tmp_path, version="v7.6")
    finally:
        hook.unlink()

    assert run.rc != 0
    failure = gate_failure(run.stdout, "deploy.checkout")
    assert f"(VERSION v7.6), expected v7.6 ({v76[:12]})" in failure, run.stdout[-3000:]
    assert fresh_box.head() not in (v75, v76)
    record = fresh_box.history()[-1]
    assert (record["kind"], record["version"], record["outcome"], record["failed_gate"]) == \
        ("rollback", "v7.6", "failed", "deploy.checkout")
    assert "nothing was changed" not in run.stdout
    assert not fresh_box.lock_path.exists()
    assert fresh_box.foreign_state_writes() == []


def test_auto_rollback_off_leaves_box_for_inspection(fresh_box, tmp_path):
    fresh_box.set_fault("v7.6", "wrong_engine_version")
    run = run_playbook(fresh_box, "activate.yml", tmp_path, version="v7.6", auto_rollback=False, **FAST_GATES)
    assert run.rc != 0
    assert gate_failure(run.stdout, "verify.engine_version")
    assert "automatic rollback is off" in " ".join(run.stdout.split())
    assert fresh_box.version_file() == "v7.6"
    assert fresh_box.engine_metadata()["engine_version"] == "v7.4"
    assert fresh_box.history()[-1]["outcome"] == "failed"

    # The operator's way back: rollback.yml with no arguments.
    fresh_box.clear_faults()
    back = run_playbook(fresh_box, "rollback.yml", tmp_path, **FAST_GATES)
    assert back.rc == 0, back.stdout[-3000:]
    assert_live(fresh_box, "v7.5")
