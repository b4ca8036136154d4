"""incident_check.yml on a live v7.6 box while fault switches raise the hooks."""
import json
import time

import pytest

import boxcheck

# faults -> (expected hooks with a finding, run fails?)
CASES = [
    ((), set(), False),
    (("nav_jump",), {"nav_anomaly"}, True),
    (("router_degraded",), {"router"}, True),
    (("router_idle",), {"router"}, True),
    (("exit_coverage_low",), {"exit_coverage"}, True),
    (("dd_flap",), {"dd_transition"}, False),  # severity warn by default
    (("nav_jump", "router_degraded", "exit_coverage_low", "dd_flap"),
     {"nav_anomaly", "router", "exit_coverage", "dd_transition"}, True),
]


def wait_for_new_loop(host, since, timeout=30):
    """Poll until the engine and sync_state have both written after `since`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ages = boxcheck.surface_ages(host)
        now = float(host.check_output("date +%s.%N"))
        names = ("risk_snapshot.json", "nav_state.json", "router_health.json", "diagnostics.json")
        if all(ages[n] is not None and now - ages[n] > since + 1.0 for n in names):
            return
        time.sleep(0.3)
    raise AssertionError("the engine did not publish after the fault switch")


@pytest.mark.parametrize(("faults", "expected", "fails"), CASES, ids=["healthy", "nav_jump", "router_degraded",
                                                                      "router_idle", "exit_coverage_low", "dd_flap", "all"])
def test_incident_check_reports_exactly_the_expected_findings(host, tmp_path, faults, expected, fails):
    since = float(host.check_output("date +%s.%N"))
    host.check_output(f"mkdir -p {boxcheck.FAULTS_DIR} && printf '%s\\n' {' '.join(faults) or '#none'} > {boxcheck.FAULTS_DIR}/v7.6")
    try:
        wait_for_new_loop(host, since)
        run = boxcheck.run_playbook("playbooks/incident_check.yml", "-e", f"incidents_report_dir={tmp_path}")
    finally:
        host.run(f"rm -f {boxcheck.FAULTS_DIR}/v7.6")

    assert (run.returncode != 0) == fails, run.stdout[-3000:]
    (report,) = tmp_path.glob("hedge-box-incidents-*.json")
    document = json.loads(report.read_text())
    assert document["schema"] == "gpt-hedge.incidents/v1"
    assert {f["hook"] for f in document["findings"]} == expected
    assert document["ok"] == (not fails)
    for finding in document["findings"]:
        assert finding["seen"] and finding["threshold"] and finding["next_steps"]
        assert f"INCIDENT {finding['hook']}" in run.stdout
    if "router_degraded" in faults:
        router = next(f for f in document["findings"] if f["hook"] == "router")
        assert "BTCUSDT" in json.dumps(router) and "ETHUSDT" in json.dumps(router)
    if "nav_jump" in faults:
        nav = next(f for f in document["findings"] if f["hook"] == "nav_anomaly")
        assert "12.5" in nav["seen"]
    if fails:
        assert boxcheck.gate_failure(run.stdout, "incidents")


def test_incident_check_changes_nothing(host):
    assert boxcheck.foreign_state_writes(host) == []
    assert boxcheck.checked_out_tag(host) == "v7.6"
