"""The bake window: a verified release watched for hedge_bake_seconds, rolled back when a check fails; the canary
bakes before the next batch starts; playbooks/bake.yml watches a live release on its own."""
from __future__ import annotations

import datetime
import json
import re
import sys
import time
from pathlib import Path

import ansible_runner

from boxlib import FAST_GATES, REPO, gate_failure, install_box, run_playbook, stop_box
from test_rollback import assert_live

BAKE = {"hedge_bake_seconds": 10, "hedge_bake_interval": 5}


def epoch(iso: str) -> float:
    return datetime.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp()


def run_fleet(boxes: dict, tmp_path: Path, on_event=None, **extravars):
    """activate.yml over `boxes` (name -> Box, in inventory order) through ansible-runner; `on_event(event)` sees
    every event while the run goes on. Returns (rc, stdout, events)."""
    inventory = tmp_path / "inventory"
    inventory.mkdir()
    (inventory / "group_vars").symlink_to(REPO / "inventories" / "local" / "group_vars")
    (inventory / "hosts.yml").write_text(json.dumps({"hedge_boxes": {"hosts": {
        name: {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
               "hedge_local_prefix": str(box.prefix)} for name, box in boxes.items()}}}))
    events = []

    def handler(event):
        events.append(event)
        if on_event:
            on_event(event)
        return True

    private = tmp_path / "runner"
    private.mkdir()
    result = ansible_runner.run(
        private_data_dir=str(private), project_dir=str(REPO), playbook="activate.yml",
        inventory=str(inventory / "hosts.yml"), extravars=extravars, event_handler=handler, quiet=True,
        envvars={"ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
                 "ANSIBLE_STDOUT_CALLBACK": "gpt_hedge.activation.gate_display",
                 "HEDGE_OPSLOG_DIR": str(tmp_path / "opslog"), "HEDGE_REPORT_DIR": str(tmp_path / "reports")})
    stdout = result.stdout.read()
    (tmp_path / "stdout.txt").write_text(stdout)
    return result.rc, stdout, events


def fleet_rows(tmp_path: Path) -> dict:
    (summary,) = (tmp_path / "reports").glob("fleet-summary-*.json")
    return {row["box"]: row for row in json.loads(summary.read_text())["rows"]}


def test_canary_bakes_before_the_next_batch_starts(fresh_box, tmp_path):
    """Two boxes, canary 1: each bakes 10 s (a check every 5 s) and succeeds; the second box's run starts after
    the canary's last bake check. The bake adds the window to a run, not more than one interval."""
    second = install_box(tmp_path / "second", "--supervisor-bin", str(Path(sys.executable).parent))
    try:
        rc, stdout, events = run_fleet({"canary": fresh_box, "second": second}, tmp_path, version="v7.6", **BAKE)
        assert rc == 0, stdout[-3000:]
        records = {}
        for name, box in (("canary", fresh_box), ("second", second)):
            assert_live(box, "v7.6")
            (record,) = box.history()
            assert record["outcome"] == "success"
            records[name] = record
            bake = record["bake"]
            assert (bake["outcome"], bake["window_s"], bake["interval_s"], bake["checks"]) == ("passed", 10, 5, 2)
            # One check per interval, the last at the end of the window: the window is not overrun by an interval.
            offsets = [entry["offset_s"] for entry in bake["timeline"]]
            assert 5 <= offsets[0] < 10 and 10 <= offsets[1] < 15, bake["timeline"]
            assert 10 <= epoch(bake["finished_at"]) - epoch(bake["started_at"]) <= 15
            assert all(entry["ok"] and entry["line"].endswith("ok") for entry in bake["timeline"])
            assert box.foreign_state_writes() == []
        # The canary's bake ended before the second box's run opened its record.
        assert records["canary"]["bake"]["finished_at"] <= records["second"]["started_at"]
        for gate in ("error_log", "state_publish", "surfaces_fresh", "engine_version", "dashboard_healthz",
                     "runtime_sanity", "incidents"):
            assert stdout.count(f"GATE bake.{gate} passed: 2 check(s) over 10 s, every 5 s") == 2, gate
        # A progress line while the watch runs, naming it.
        assert re.search(r"ASYNC POLL on canary: gpt_hedge.activation.bake : Re-check logs, surfaces, engine, dashboard, "
                         r"sanity thresholds and incident hooks - a check every 5 s for 10 s still running, \d+ s so far",
                         stdout), stdout[-3000:]
        rows = fleet_rows(tmp_path)
        assert [rows[name]["bake"] for name in ("canary", "second")] == ["passed, 2 checks in 10 s"] * 2
        assert "bake passed, 2 checks in 10 s" in rows["canary"]["note"]
        # The module's result in the run's events carries the timeline (hedge_run writes these events).
        results = [e["event_data"]["res"] for e in events
                   if e.get("event") == "runner_on_ok" and e["event_data"].get("task_action", "").endswith("hedge_bake")]
        assert [len(res["timeline"]) for res in results] == [2, 2]
        opslog = json.loads(next((tmp_path / "opslog").glob("canary-*.json")).read_text())
        assert opslog["bake"]["timeline"] == records["canary"]["bake"]["timeline"]
    finally:
        stop_box(second)


def test_canary_failing_its_bake_is_rolled_back_and_the_fleet_stops(fresh_box, tmp_path):
    """The canary's release starts writing state_publish errors after its verify gates passed (the fault is set
    when the run's event of the last verify gate arrives): its bake catches it, it is rolled back and verified,
    and the next batch never starts."""
    second = install_box(tmp_path / "second", "--supervisor-bin", str(Path(sys.executable).parent))
    armed = {}

    def arm_after_verify(event):
        data = event.get("event_data") or {}
        if (event.get("event") == "runner_on_ok" and data.get("host") == "canary" and not armed
                and str(data.get("task", "")).startswith("Gate verify.runtime_sanity")):
            fresh_box.set_fault("v7.6", "publish_errors")
            armed["at"] = time.time()

    try:
        before = second.snapshot()
        rc, stdout, _events = run_fleet({"canary": fresh_box, "second": second}, tmp_path, on_event=arm_after_verify,
                                        version="v7.6", **BAKE, **FAST_GATES)
    finally:
        fresh_box.clear_faults()
    try:
        assert rc != 0 and armed, stdout[-3000:]
        # Every verify gate passed before the fault was set; the bake's gate is said once.
        verify_part = stdout.split("GATE bake.")[0]
        assert "GATE verify.runtime_sanity passed" in verify_part and "FAILED" not in verify_part
        failure = gate_failure(stdout, "bake.state_publish")
        assert failure.startswith("GATE bake.state_publish FAILED: at +"), stdout[-3000:]
        assert "s of the 10 s bake (check 1 of 2, " in failure and "error(s) (limit 1): " in failure
        assert stdout.count("GATE bake.state_publish FAILED") == 1 and "{{" not in stdout
        assert "GATE bake.error_log passed" in stdout
        assert "activation of v7.6 on canary rolled back after gate bake.state_publish: v7.5 restored and verified" \
            in stdout
        assert_live(fresh_box, "v7.5")
        activation, rollback = fresh_box.history()
        assert (activation["outcome"], activation["failed_gate"]) == ("rolled_back", "bake.state_publish")
        assert activation["reason"] == failure[:len(activation["reason"])]
        assert activation["detail"] == [entry["line"] for entry in activation["bake"]["timeline"]]
        bake = activation["bake"]
        assert (bake["outcome"], bake["failed_gate"], bake["failed_check"], bake["checks"]) == \
            ("failed", "bake.state_publish", 1, 1)
        assert epoch(bake["failed_at"]) >= int(armed["at"])
        assert bake["failed_checks"]["state_publish"]["ok"] is False
        assert bake["timeline"][0]["problems"]["state_publish"] == bake["failed_checks"]["state_publish"]["reason"]
        assert rollback["kind"] == "auto_rollback" and rollback["outcome"] == "success"
        assert fresh_box.foreign_state_writes() == []
        # The other batch never started.
        assert second.snapshot() == before and second.history() == []
        rows = fleet_rows(tmp_path)
        assert (rows["canary"]["outcome"], rows["canary"]["failed_gate"]) == ("rolled_back", "bake.state_publish")
        assert rows["canary"]["bake"].startswith("FAILED bake.state_publish at +")
        assert rows["canary"]["reason"] == activation["reason"] and rows["canary"]["next"] == activation["next"]
        assert rows["second"]["outcome"] == "untouched"
        opslog = json.loads(next((tmp_path / "opslog").glob("canary-*.json")).read_text())
        assert (opslog["failed_gate"], opslog["reason"], opslog["bake"]) == \
            ("bake.state_publish", activation["reason"], bake)
        markdown = next((tmp_path / "opslog").glob("canary-*.md")).read_text()
        assert "## Bake timeline" in markdown and bake["timeline"][0]["line"] in markdown
    finally:
        stop_box(second)


def test_bake_failure_with_auto_rollback_off_leaves_the_release_for_inspection(fresh_box, tmp_path):
    """auto_rollback=false: the release that starts logging errors after its verification fails bake.error_log
    and is left in place, recorded as failed with the bake's timeline."""
    armed = {}

    def arm_after_verify(event):
        data = event.get("event_data") or {}
        if (event.get("event") == "runner_on_ok" and not armed
                and str(data.get("task", "")).startswith("Gate verify.runtime_sanity")):
            fresh_box.set_fault("v7.6", "error_log")
            armed["at"] = time.time()

    try:
        rc, stdout, _events = run_fleet({"localbox": fresh_box}, tmp_path, on_event=arm_after_verify, version="v7.6",
                                        auto_rollback=False, **BAKE, **FAST_GATES)
        assert rc != 0 and armed, stdout[-3000:]
        assert "ERROR executor: simulated order failure" in gate_failure(stdout, "bake.error_log"), stdout[-3000:]
        assert stdout.count("GATE bake.error_log FAILED") == 1
        assert "automatic rollback is off" in " ".join(stdout.split())
        assert fresh_box.version_file() == "v7.6" and fresh_box.engine_metadata()["engine_version"] == "v7.6"
        (record,) = fresh_box.history()
        assert (record["outcome"], record["failed_gate"], record["bake"]["failed_gate"]) == \
            ("failed", "bake.error_log", "bake.error_log")
        assert epoch(record["bake"]["failed_at"]) >= int(armed["at"])
        assert record["next"].startswith("v7.6 is left in place for inspection (auto_rollback off)")
        assert fresh_box.foreign_state_writes() == []
    finally:
        fresh_box.clear_faults()


def test_bake_playbook_watches_the_live_release_read_only(fresh_box, tmp_path):
    """playbooks/bake.yml on a box running v7.5: a clean watch passes; with the dashboard down it fails naming
    the gate, the moment and the next step, and changes nothing."""
    before = fresh_box.snapshot()
    watch = run_playbook(fresh_box, "playbooks/bake.yml", tmp_path, version="v7.5", **BAKE)
    assert watch.rc == 0, watch.stdout[-3000:]
    assert "GATE bake.dashboard_healthz passed: 2 check(s) over 10 s, every 5 s" in watch.stdout

    fresh_box.set_fault("v7.5", "dashboard_down")
    try:
        watch = run_playbook(fresh_box, "playbooks/bake.yml", tmp_path, version="v7.5", **BAKE)
    finally:
        fresh_box.clear_faults()
    assert watch.rc != 0
    failure = gate_failure(watch.stdout, "bake.dashboard_healthz")
    assert "s of the 10 s bake (check 1 of 2, " in failure and "-> 503" in failure, watch.stdout[-3000:]
    assert watch.stdout.count("GATE bake.dashboard_healthz FAILED") == 1
    folded = " ".join(watch.stdout.split())
    assert "bake watch of v7.5 on localbox FAILED at gate bake.dashboard_healthz" in folded
    assert "next: v7.5 is live and failed bake.dashboard_healthz while watched (nothing was changed)" in folded
    assert fresh_box.snapshot() == before and fresh_box.history() == []
    assert fresh_box.foreign_state_writes() == []


def test_unusable_bake_window_is_refused_before_any_change(shared_box, tmp_path):
    before = shared_box.snapshot()
    run = run_playbook(shared_box, "activate.yml", tmp_path, version="v7.6", hedge_bake_seconds="5m",
                       hedge_bake_interval=0)
    assert run.rc != 0
    assert gate_failure(run.stdout, "input.bake").startswith(
        'GATE input.bake FAILED: hedge_bake_seconds "5m" is not an integer 0..1200; '
        'hedge_bake_interval "0" is not an integer 1..hedge_bake_seconds'), run.stdout[-3000:]
    assert "GATE preflight." not in run.stdout
    assert shared_box.snapshot() == before
    record = shared_box.history()[-1]
    assert (record["outcome"], record["failed_gate"]) == ("refused", "input.bake")
