"""After activate v7.6 then rollback.yml (no arguments)."""
import json

import boxcheck

HISTORY = "/var/lib/gpt-hedge/activation/history"


def test_v75_live_again(host):
    assert boxcheck.checked_out_tag(host) == "v7.5"
    assert boxcheck.version_file(host) == "v7.5"
    assert {n: s for n, (s, _p) in boxcheck.programs(host).items()} == {n: "RUNNING" for n in boxcheck.PROGRAMS}
    assert boxcheck.engine_version(host) == "v7.5"
    assert boxcheck.healthz(host) == "200"


def test_boot_line_shows_v75_after_v76(host):
    log = host.file("/var/log/hedge-executor.out.log").content_string
    assert log.rindex("Engine version: v7.5") > log.rindex("Engine version: v7.6")


def test_surfaces_written_again(host):
    ages = boxcheck.surface_ages(host)
    for spec in boxcheck.DEFAULT_SURFACES:
        if spec["cadence"] == "loop":
            assert ages[spec["name"]] is not None and ages[spec["name"]] <= 120, spec["name"]


def test_history_records_both(host):
    names = host.check_output(f"ls {HISTORY}").split()
    records = sorted((json.loads(host.file(f"{HISTORY}/{n}").content_string) for n in names),
                     key=lambda r: r["started_at"])
    assert [(r["kind"], r["version"], r["outcome"]) for r in records] == [
        ("activation", "v7.6", "success"), ("rollback", "v7.5", "success")]
    assert records[1]["previous_version"] == "v7.6"
    assert not host.file("/var/lib/gpt-hedge/activation/lock").exists


def test_state_dir_written_only_by_the_engine(host):
    assert boxcheck.foreign_state_writes(host) == []
