"""activate.yml against fresh local boxes: the success path, idempotence and
every preflight gate's failing case (the live box must be left as it was)."""
from __future__ import annotations

import json
import re
import time

import pytest

from boxlib import gate_failure, module_runs, parse_timestamp, run_playbook, runtime_report

PROGRAMS = ("hedge-executor", "hedge-dashboard", "hedge-sync_state")


def test_activate_v76_on_fresh_box(fresh_box, tmp_path):
    before = fresh_box.status()
    assert fresh_box.version_file() == "v7.5"

    secret = "ghp_n0tToBeLogged4ctivation"
    run = run_playbook(fresh_box, "activate.yml", tmp_path, version="v7.6", preflight_ci_token=secret,
                       notes="integration test", operator="alice")

    assert run.rc == 0, run.stdout[-3000:]
    assert fresh_box.git("describe", "--tags", "--exact-match") == "v7.6"
    assert fresh_box.version_file() == "v7.6"
    after = fresh_box.status()
    assert {p: after[p][0] for p in PROGRAMS} == {p: "RUNNING" for p in PROGRAMS}
    assert after["hedge-executor"][1] != before["hedge-executor"][1], "executor was not restarted"
    meta = fresh_box.engine_metadata()
    assert meta.get("engine_version", meta.get("version")) == "v7.6"
    assert abs(time.time() - parse_timestamp(meta["updated_ts"])) < 120
    assert fresh_box.healthz() == 200
    for gate in ("input.version", "input.fleet", "input.box", "input.bake", "input.deploy_method", "preflight.tag_exists", "preflight.version_file", "preflight.pretag",
                 "preflight.sanity", "preflight.rollback_ready", "deploy.clean_checkout", "deploy.checkout", "restart.programs_running",
                 "verify.boot_line", "verify.error_log", "verify.state_publish", "verify.surfaces_fresh",
                 "verify.engine_version", "verify.dashboard_healthz", "verify.runtime_sanity"):
        assert f"GATE {gate} passed" in run.stdout, gate
    assert "GATE preflight.ci_status NOT CHECKED" in run.stdout
    # the lock is taken, then its heartbeat is refreshed after the preflight and after the restart
    assert run.stdout.count("GATE lock passed") == 3, run.stdout
    # Module runs on the box (each a Python process per box): lock, live read, history begin; supervisor status,
    # the tag's checks (with the rollback target's), heartbeat; deploy's read, checkout and read; the restart
    # (carrying the heartbeat after it); verify; history finish (releasing the lock); incidents. It was 15: one
    # hedge_lock run per heartbeat and for the release.
    runs = module_runs(run)
    assert len(runs) <= 13, runs
    assert [r for r in runs if r.startswith("gpt_hedge.activation.hedge_lock:")] == [
        "gpt_hedge.activation.hedge_lock: Try to take the lock",
        "gpt_hedge.activation.hedge_lock: Refresh the lock's heartbeat"], runs
    assert "all gates passed" in run.stdout
    assert "All checks passed" in run.stdout

    # The ops log and the incident report: written on the controller, no secret in them or the output.
    assert secret not in run.stdout
    (opslog_json,) = (tmp_path / "opslog").glob("localbox-*.json")
    entry = json.loads(opslog_json.read_text())
    assert (entry["operator"], entry["version"], entry["previous_version"], entry["outcome"]) == \
        ("alice", "v7.6", "v7.5", "success")
    assert entry["commit"] == fresh_box.head() and entry["notes"] == "integration test"
    assert entry["anomalies"] == "None" and entry["exit_coverage_pct"] == 100.0
    (report,) = (tmp_path / "reports").glob("localbox-incidents-*.json")
    assert json.loads(report.read_text())["ok"] is True
    for path in [opslog_json, opslog_json.with_suffix(".md"), report]:
        assert secret not in path.read_text(), path

    # A second activation of the live version changes nothing and restarts nothing.
    again = run_playbook(fresh_box, "activate.yml", tmp_path, version="v7.6")
    assert again.rc == 0, again.stdout[-3000:]
    assert again.stats["changed"].get("localbox", 0) == 0, again.stats
    assert fresh_box.status() == after
    assert "no restart needed" in again.stdout


@pytest.mark.parametrize(
    ("version", "prepare", "gate", "reason"),
    [
        ("v7.9", None, "preflight.tag_exists", "tag v7.9 not found"),
        ("v7.7", None, "preflight.version_file", "expected v7.7"),
        ("v7.6", "pretag_fail", "preflight.pretag", "make pretag-v7.6 exited"),
        ("v7.6", "dirty", "deploy.clean_checkout", "has local changes"),
        ("v7.8", None, "preflight.docs_version", "docs_version is v7.6, expected v7.8"),
        ("v7.6.1", None, "preflight.sanity_script", "scripts/runtime_sanity_check_v7_6_1.py is missing in v7.6.1"),
        ("v7.6", "sanity_fail", "preflight.sanity", "scripts/runtime_sanity_check_v7_6.py exited 1: RESULT: FAIL"),
        ("v7.6", "no_origin", "preflight.checkout", "is not a git checkout with remote 'origin'"),
        ("v7.6", "no_previous_tag", "preflight.rollback_ready", "could not run without the network: tag v7.5 is not in"),
        ("7.6", None, "input.version", "invalid version"),
        ("v7.6; rm -rf /", None, "input.version", "invalid version"),
        ("v7.\uff16", None, "input.version", "invalid version"),
        ("v7.6\n", None, "input.version", "invalid version"),
        ("v7.6\nv7.5", None, "input.version", "invalid version"),
        ("", None, "input.version", "no version given"),
    ],
    ids=["missing-tag", "version-mismatch", "pretag-fails", "dirty-checkout", "docs-not-bumped", "no-sanity-script",
         "sanity-fails", "no-origin-remote", "no-previous-tag", "no-v-prefix", "injection", "unicode-digit", "trailing-newline",
         "embedded-newline", "empty"],
)
def test_refused_activation_leaves_box_untouched(shared_box, tmp_path, version, prepare, gate, reason):
    dirty_file = shared_box.checkout / "hedge" / "dashboard.py"
    if prepare == "pretag_fail":
        shared_box.set_fault("v7.6", "pretag_fail")
    elif prepare == "sanity_fail":  # the v7.6 sanity script fails against the live (v7.5) state
        shared_box.set_fault("v7.5", "sanity_fail")
    elif prepare == "dirty":
        dirty_file.write_text(dirty_file.read_text() + "# local hotfix\n")
    elif prepare == "no_origin":  # someone renamed the live checkout's remote
        shared_box.git("remote", "rename", "origin", "upstream")
    elif prepare == "no_previous_tag":  # the live release's tag is gone from the checkout
        previous_tag = shared_box.git("rev-parse", "refs/tags/v7.5")
        shared_box.git("tag", "-d", "v7.5")
    before = shared_box.snapshot()
    records_before = len(shared_box.history())
    try:
        run = run_playbook(shared_box, "activate.yml", tmp_path, version=version)
        after = shared_box.snapshot()
    finally:
        if prepare in ("pretag_fail", "sanity_fail"):
            shared_box.clear_faults()
        elif prepare == "dirty":
            shared_box.git("checkout", "--", "hedge/dashboard.py")
        elif prepare == "no_origin":
            shared_box.git("remote", "rename", "upstream", "origin")
        elif prepare == "no_previous_tag":
            shared_box.git("update-ref", "refs/tags/v7.5", previous_tag)

    assert run.rc != 0
    failure = gate_failure(run.stdout, gate)
    assert failure, run.stdout[-3000:]
    assert reason in failure
    assert after == before
    assert before["version"] == "v7.5"
    assert all(state == "RUNNING" for state, _pid in after["status"].values())
    assert shared_box.foreign_state_writes() == []
    records = shared_box.history()
    if gate.startswith("input."):  # refused before the lock: no record
        assert len(records) == records_before
    else:
        assert len(records) == records_before + 1
        assert (records[-1]["version"], records[-1]["outcome"], records[-1]["failed_gate"]) == (version, "refused", gate)
        assert records[-1]["rollback"] == "not_needed"
    assert not shared_box.lock_path.exists()


@pytest.mark.parametrize(
    ("overrides", "gate", "reason"),
    [
        # an inventory that puts the automation's history and lock into the engine's state dir
        (lambda box: {"box_automation_dir": str(box.state_dir / "activation")}, "input.box",
         "automation_dir={state_dir}/activation"),
        (lambda box: {"box_state_dir": f"{box.state_dir}/", "box_automation_dir": f"{box.state_dir}/activation"},
         "input.box", "automation_dir={state_dir}/activation"),
        (lambda box: {"box_checkout": "hedge-fund"}, "input.box", "checkout=hedge-fund,"),
        (lambda box: {"box_programs": []}, "input.box", "programs=,"),
        (lambda box: {"hedge_deploy_method": "ftp"}, "input.deploy_method", 'unknown deploy method "ftp": use git or docker'),
        (lambda box: {"hedge_deploy_method": "docker", "box_docker_registry_username": "ci"}, "input.deploy_method",
         "a registry username and password together"),
        (lambda box: {"hedge_canary": "abc"}, "input.fleet", 'hedge_canary "abc" is not a positive integer or 1%..100%'),
    ],
    ids=["automation-dir-in-state-dir", "state-dir-trailing-slash", "relative-checkout", "no-programs",
         "unknown-deploy-method", "docker-user-without-password", "canary-not-a-size"],
)
def test_unusable_box_description_is_refused(shared_box, tmp_path, overrides, gate, reason):
    before = shared_box.snapshot()
    records_before = len(shared_box.history())
    run = run_playbook(shared_box, "activate.yml", tmp_path, version="v7.6", **overrides(shared_box))

    assert run.rc != 0
    assert gate_failure(run.stdout, gate), run.stdout[-3000:]
    folded = " ".join(run.stdout.split())
    failure = folded[folded.find(f"GATE {gate} FAILED: "):][:1000]
    assert reason.format(state_dir=shared_box.state_dir) in failure
    assert "GATE lock" not in run.stdout and "GATE preflight." not in run.stdout
    assert shared_box.snapshot() == before
    assert len(shared_box.history()) == records_before
    assert not shared_box.lock_path.exists()
    assert not (shared_box.state_dir / "activation").exists()
    assert shared_box.foreign_state_writes() == []


def test_stopped_supervisor_is_refused_before_any_change(fresh_box, tmp_path):
    fresh_box.cli("stop")
    before = {"head": fresh_box.head(), "porcelain": fresh_box.git("status", "--porcelain"),
              "version": fresh_box.version_file()}
    run = run_playbook(fresh_box, "activate.yml", tmp_path, version="v7.6")
    assert run.rc != 0
    assert "status exited" in gate_failure(run.stdout, "preflight.supervisor"), run.stdout[-3000:]
    assert {"head": fresh_box.head(), "porcelain": fresh_box.git("status", "--porcelain"),
            "version": fresh_box.version_file()} == before
    assert fresh_box.status() == {}, "supervisord was started by the run"


def test_unreachable_box_changes_nothing(fresh_box, tmp_path):
    before = fresh_box.snapshot()
    run = run_playbook(fresh_box, "activate.yml", tmp_path, version="v7.6",
                       ansible_connection="ssh", ansible_host="127.0.0.1", ansible_port=1,
                       ansible_ssh_common_args="-o ConnectTimeout=3")
    assert run.rc != 0
    assert "UNREACHABLE" in run.stdout and "Connection refused" in " ".join(run.stdout.split())
    assert fresh_box.snapshot() == before
    assert not fresh_box.lock_path.exists()


PRETAG_TEST_ID = "tests/test_release.py::test_pretag_fault_switch_off"


def runner_events(tmp_path) -> list[dict]:
    """The ansible-runner events of the last run_playbook run in `tmp_path` (what hedge_run records)."""
    (private,) = sorted(tmp_path.glob("runner-*"))[-1:]
    return [json.loads(path.read_text()) for path in sorted(private.glob("artifacts/*/job_events/*.json"))]


def test_refused_pretag_says_why_once_and_the_same_everywhere(shared_box, tmp_path):
    """A failing make pretag: the failing test id and the first error line in the gate's message, printed
    once; the same failed_gate / reason / detail / next in the history record, the ops log (Markdown and
    JSON), the fleet summary JSON and the ansible-runner events; the ops log names every preflight step."""
    shared_box.set_fault("v7.6", "pretag_fail")
    before = shared_box.snapshot()
    try:
        run = run_playbook(shared_box, "activate.yml", tmp_path, version="v7.6")
    finally:
        shared_box.clear_faults()
    assert run.rc != 0
    assert shared_box.snapshot() == before

    # The output: the gate's message once, with the test id, the first error line and the next step;
    # no raw template text.
    assert run.stdout.count("GATE preflight.pretag FAILED") == 1, run.stdout
    assert "{{" not in run.stdout
    failure = gate_failure(run.stdout, "preflight.pretag")
    assert re.search(r"make pretag-v7\.6 exited 2: 1 failed, \d+ passed", failure), run.stdout[-3000:]
    assert PRETAG_TEST_ID in failure
    assert "first error: AssertionError: simulated preflight failure (fault pretag_fail active for v7.6)" in failure
    next_step = "run `make pretag-v7.6` in a clone of the tag with the box's venv; fix or re-tag"
    assert run.stdout.count(f"next: {next_step}") == 1
    assert "activation of v7.6 on localbox refused at gate preflight.pretag: nothing was changed" in run.stdout

    # The reports judge the release that should still be live (v7.5), not the refused target.
    report = runtime_report(run.stdout)
    assert "=== Runtime report: localbox (activation refused) ===" in report
    assert "Release : activation of v7.6 refused at preflight.pretag; v7.5 still live and healthy" in report
    assert "Failed checks : gate preflight.pretag" in report
    assert "All checks passed" not in run.stdout
    assert ("[ok] system_health: engine v7.5 == expected v7.5 (v7.5 live as intended: activation of v7.6 "
            "refused at preflight.pretag); healthz 200") in " ".join(run.stdout.split())
    assert "[FAIL]" not in run.stdout
    assert shared_box.foreign_state_writes() == []

    # The same reason in every record.
    record = shared_box.history()[-1]
    reason = record["reason"]
    assert reason.startswith("GATE preflight.pretag FAILED: make pretag-v7.6 exited 2: 1 failed") and "\n" not in reason
    assert (record["outcome"], record["failed_gate"], record["next"]) == ("refused", "preflight.pretag", next_step)
    assert f"failed: {PRETAG_TEST_ID}" in record["detail"]
    expected = {key: record[key] for key in ("failed_gate", "reason", "detail", "next")}

    (opslog_json,) = (tmp_path / "opslog").glob("localbox-*.json")
    entry = json.loads(opslog_json.read_text())
    assert {key: entry[key] for key in expected} == expected
    (summary_json,) = (tmp_path / "reports").glob("fleet-summary-*.json")
    (row,) = json.loads(summary_json.read_text())["rows"]
    assert (row["outcome"], row["version_before"], row["version_after"]) == ("refused", "v7.5", "v7.5")
    assert {key: row[key] for key in expected} == expected

    events = runner_events(tmp_path)
    failed = [e["event_data"]["res"]["msg"] for e in events if e.get("event") == "runner_on_failed"
              and "GATE preflight.pretag FAILED" in str(e["event_data"].get("res", {}).get("msg", ""))]
    assert len(failed) == 1 and PRETAG_TEST_ID in failed[0] and reason in " ".join(failed[0].split())
    records = [e["event_data"]["res"]["record"] for e in events if e.get("event") == "runner_on_ok"
               and (e["event_data"].get("res") or {}).get("record", {}).get("outcome") == "refused"]
    assert [{key: r[key] for key in expected} for r in records] == [expected]

    # The ops log names the target, the previous release, every preflight step truthfully, the failed gate.
    assert entry["version"] == "v7.6" and entry["previous_version"] == "v7.5"
    assert entry["preflight_steps"] == {
        "supervisor": "PASS", "checkout": "PASS", "tag_exists": "PASS", "version_file": "PASS",
        "docs_version": "PASS", "ci_status": "NOT CHECKED", "pretag": "FAIL", "sanity_script": "not run",
        "sanity": "not run"}
    markdown = opslog_json.with_suffix(".md").read_text()
    assert "# GPT-Hedge ops log: activation of v7.6 on localbox" in markdown
    assert "| VERSION | v7.6 (previous v7.5; live now v7.5) |" in markdown
    assert "ci_status NOT CHECKED; pretag FAIL; sanity_script not run; sanity not run |" in markdown
    assert "refused (failed gate `preflight.pretag`" in markdown
    assert f"- Detail: failed: {PRETAG_TEST_ID}" in markdown and f"- Next: {next_step}" in markdown
