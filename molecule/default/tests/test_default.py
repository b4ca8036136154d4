"""After `activate.yml -e version=v7.6` on a v7.5 box (and an idempotent second run)."""
import json
import os
import re
import subprocess
from pathlib import Path

import boxcheck


def test_checkout_is_at_v76(host):
    assert boxcheck.version_file(host) == "v7.6"
    assert boxcheck.checked_out_tag(host) == "v7.6"
    assert host.run(f"git -C {boxcheck.CHECKOUT} status --porcelain").stdout == ""


def test_every_program_running(host):
    assert {name: st for name, (st, _pid) in boxcheck.programs(host).items()} == {
        name: "RUNNING" for name in boxcheck.PROGRAMS
    }


def test_engine_metadata_reports_v76(host):
    assert boxcheck.engine_version(host) == "v7.6"


def test_boot_line_in_executor_log(host):
    log = host.file("/var/log/hedge-executor.out.log").content_string
    assert log.rstrip().count("Engine version: v7.6") >= 1
    assert log.rindex("Engine version: v7.6") > log.rindex("Engine version: v7.5")


def test_every_surface_fresh(host):
    ages = boxcheck.surface_ages(host)
    for spec in boxcheck.DEFAULT_SURFACES:
        limit = 120 if spec["cadence"] == "loop" else 900
        age = ages[spec["name"]]
        assert age is not None, spec["name"]
        assert -5 < age <= limit, (spec["name"], age)


def test_healthz_answers_200(host):
    assert boxcheck.healthz(host) == "200"


def test_state_dir_written_only_by_the_engine(host):
    assert boxcheck.foreign_state_writes(host) == []


def test_no_preflight_scratch_left(host):
    assert not host.file("/var/tmp/gpt-hedge-preflight/v7.6").exists


def test_history_records_the_activation(host):
    history = "/var/lib/gpt-hedge/activation/history"
    records = [json.loads(host.file(f"{history}/{name}").content_string)
               for name in host.check_output(f"ls {history}").split()]
    # converge + idempotence: two verified activations of v7.6
    assert [r["outcome"] for r in records] == ["success", "success"]
    first = min(records, key=lambda r: r["started_at"])
    assert (first["kind"], first["version"], first["previous_version"]) == ("activation", "v7.6", "v7.5")
    assert first["commit"] == host.check_output(f"git -C {boxcheck.CHECKOUT} rev-parse HEAD")
    assert not host.file("/var/lib/gpt-hedge/activation/lock").exists


def test_ops_log_filled_field_by_field(host):
    opslog = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "opslog"
    entries = sorted((json.loads(p.read_text()) for p in opslog.glob("hedge-box-default-*.json")),
                     key=lambda e: e["date_utc"])
    assert len(entries) == 2, "one ops log per run (converge + idempotence)"
    entry = entries[0]
    assert (entry["box"], entry["kind"], entry["outcome"]) == ("hedge-box-default", "activation", "success")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", entry["date_utc"])
    assert entry["operator"] == subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
    assert entry["commit"] == host.check_output(f"git -C {boxcheck.CHECKOUT} rev-parse HEAD")
    assert (entry["version"], entry["previous_version"]) == ("v7.6", "v7.5")
    assert entry["preflight"] == {"version": "v7.6", "ci_status": "not checked", "pretag": "passed", "sanity": "passed"}
    steps = entry["steps"]
    assert steps["preflight_passed"] <= steps["code_pulled"] <= steps["services_restarted"] <= steps["dashboard_verified"]
    assert isinstance(entry["nav"], float) and entry["nav"] > 0
    assert entry["dd_state"] in ("NORMAL", "DRAWDOWN", "RECOVERY")
    assert 0.5 <= entry["router_quality"] <= 1.0
    assert entry["exit_coverage_pct"] == 100.0
    assert set(entry["factor_weights"]) and all("=" in part for part in entry["factor_weights_summary"].split(", "))
    assert entry["anomalies"] == "None"
    assert entry["incidents"] == []
    assert entry["notes"] == "activated by molecule scenario default"
    assert entries[1]["steps"]["services_restarted"] == "not restarted"
    markdown = (opslog / f"hedge-box-default-{entry['run_id']}.md").read_text()
    assert f"| Commit hash | `{entry['commit']}` |" in markdown
