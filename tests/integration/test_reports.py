"""What the reports say after a run: the runtime report and the incident check judge the
live release against the release the run should have left live, and a stale box is an incident."""
from __future__ import annotations

import json
import time

from boxlib import FAST_GATES, gate_failure, parse_timestamp, run_playbook, runtime_report, wait_for

LOOP_SURFACES = ("nav.json", "nav_state.json", "positions_state.json", "positions_ledger.json", "kpis_v7.json",
                 "diagnostics.json", "risk_snapshot.json", "router_health.json")


def folded(run) -> str:
    return " ".join(run.stdout.split())


def incidents_document(tmp_path) -> dict:
    (report,) = (tmp_path / "reports").glob("localbox-incidents-*.json")
    return json.loads(report.read_text())


def test_incident_check_after_verified_rollback_passes_the_live_release(fresh_box, tmp_path):
    fresh_box.set_fault("v7.6", "wrong_engine_version")
    try:
        run = run_playbook(fresh_box, "activate.yml", tmp_path, version="v7.6", **FAST_GATES)
    finally:
        fresh_box.clear_faults()

    assert run.rc != 0
    assert gate_failure(run.stdout, "verify.engine_version"), run.stdout[-3000:]
    assert "automatic rollback to v7.5: verified" in folded(run)
    meta = fresh_box.engine_metadata()
    assert fresh_box.version_file() == "v7.5" and meta.get("engine_version", meta.get("version")) == "v7.5"
    text = folded(run)
    assert ("[ok] system_health: engine v7.5 == expected v7.5 (v7.5 live as intended: activation of v7.6 "
            "rolled back after verify.engine_version); healthz 200") in text
    assert "[FAIL]" not in run.stdout
    assert "Release: activation of v7.6 rolled back after verify.engine_version; v7.5 live and verified" in text
    report = runtime_report(run.stdout)
    assert "=== Runtime report: localbox (activation rolled_back) ===" in report
    assert "Release : activation of v7.6 rolled back after verify.engine_version; v7.5 live and verified" in report
    assert "Failed checks : gate verify.engine_version" in report
    assert "All checks passed" not in report  # (the rollback's own verify summary may say so of its sanity checks)
    assert incidents_document(tmp_path)["ok"] is True


def surface_ages(box, names):
    """Seconds since each of `names` was written by its own write time, or None when one is unreadable."""
    ages = []
    for name in names:
        try:
            data = json.loads((box.state_dir / name).read_text())
        except (OSError, ValueError):
            return None
        stamp = data.get("updated_ts") or data.get("updated_at")
        if name == "diagnostics.json":
            stamp = data["runtime_diagnostics"]["exit_pipeline"]["last_exit_scan_ts"]
        ts = parse_timestamp(stamp)
        if ts is None:
            return None
        ages.append(time.time() - ts)
    return ages


def wait_until_stale(box, names, older_than=3000.0, timeout=60.0):
    """Poll until every one of `names` carries a write time older than `older_than` s (the
    stale_timestamps fault is read by the engine on its next loop)."""
    def stale():
        ages = surface_ages(box, names)
        return ages is not None and min(ages) > older_than
    wait_for(stale, timeout, "the engine to write stale surfaces")


def test_incident_check_on_a_stale_box_reports_the_surfaces_and_an_incident(fresh_box, tmp_path):
    fresh_box.set_fault("v7.5", "stale_timestamps")
    try:
        wait_until_stale(fresh_box, LOOP_SURFACES)
        before = fresh_box.snapshot()
        run = run_playbook(fresh_box, "playbooks/incident_check.yml", tmp_path)
        after = fresh_box.snapshot()
    finally:
        fresh_box.clear_faults()

    assert run.rc != 0
    text = folded(run)
    assert "no incidents" not in text
    failure = gate_failure(run.stdout, "incidents")
    assert "Engine not publishing: all 8 per-loop surfaces stale or missing" in failure, run.stdout[-3000:]
    assert "INCIDENT stale_surfaces [fail]" in text
    checklist = text[text.find("[FAIL] surface_freshness: surface warnings: stale: "):]
    assert checklist, run.stdout[-3000:]
    for name in LOOP_SURFACES:
        assert name in checklist[:600], name
    document = incidents_document(tmp_path)
    assert document["ok"] is False
    assert [f["hook"] for f in document["findings"]] == ["stale_surfaces"]
    assert after == before
    assert fresh_box.foreign_state_writes() == []
