"""Rolling activation over six boxes (molecule/fleet/molecule.yml):

batches [box-1] (canary), [box-2, box-3], [box-4, box-5], [box-6]; box-3 fails
GATE verify.engine_version on v7.6 and rolls back to v7.5; max_fail_percentage
0 stops the rollout after that batch. Semantics: box-2 runs in the same batch
as box-3, so its own activation completes (v7.6, verified, recorded success);
boxes 4-6 are never touched."""
import glob
import json
import os

import pytest
import testinfra

import boxcheck

HISTORY = "/var/lib/gpt-hedge/activation/history"
LOCK = "/var/lib/gpt-hedge/activation/lock"
BEFORE = "/root/molecule-fleet-before.txt"
CANARY = "fleet-box-1"
FAILED = "fleet-box-3"
FAILED_GATE = "verify.engine_version"
EXPECTED = {  # box -> (live version, outcome in the summary)
    "fleet-box-1": ("v7.6", "success"),
    "fleet-box-2": ("v7.6", "success"),
    "fleet-box-3": ("v7.5", "rolled_back"),
    "fleet-box-4": ("v7.5", "untouched"),
    "fleet-box-5": ("v7.5", "untouched"),
    "fleet-box-6": ("v7.5", "untouched"),
}
ACTIVATED = ("fleet-box-1", "fleet-box-2", "fleet-box-3")
UNTOUCHED = ("fleet-box-4", "fleet-box-5", "fleet-box-6")
EPHEMERAL = os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]


def box(name):
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={os.environ['MOLECULE_INVENTORY_FILE']}")


def name_of(host):
    return host.backend.get_hostname()


def history(host):
    names = host.check_output(f"ls {HISTORY} 2>/dev/null || true").split()
    return sorted((json.loads(host.file(f"{HISTORY}/{n}").content_string) for n in names),
                  key=lambda r: (r["started_at"], r["id"]))


@pytest.fixture(scope="module")
def run():
    with open(os.path.join(EPHEMERAL, "fleet-run.json"), encoding="utf-8") as handle:
        return json.load(handle)


@pytest.fixture(scope="module")
def summary():
    reports = os.environ.get("HEDGE_REPORT_DIR") or os.path.join(EPHEMERAL, "reports")
    paths = sorted(glob.glob(os.path.join(reports, "fleet-summary-*.json")))
    assert len(paths) == 1, paths
    with open(paths[0], encoding="utf-8") as handle:
        return json.load(handle)


def test_run_failed_naming_the_gate(run):
    output = run["stdout"] + "\n" + run["stderr"]  # ansible-core 2.19 prints task errors on stderr
    assert run["rc"] == 2
    assert boxcheck.gate_failure(output, FAILED_GATE), output[-3000:]
    assert "automatic rollback to v7.5: verified" in " ".join(output.split())
    assert "fatal: [fleet-box-3]" in output
    assert not any(f"fatal: [{name}]" in output for name in EXPECTED if name != FAILED)


def test_canary_finished_before_any_other_box_started():
    records = {name: history(box(name)) for name in ACTIVATED}
    canary = [r for r in records[CANARY] if r["kind"] == "activation"]
    assert len(canary) == 1 and canary[0]["outcome"] == "success"
    others = [r for name in ACTIVATED if name != CANARY for r in records[name]]
    assert others
    finished = boxcheck.parse_timestamp(canary[0]["finished_at"])
    for record in others:
        assert boxcheck.parse_timestamp(record["started_at"]) > finished, (canary[0], record)


def test_live_release_and_services(host):
    name = name_of(host)
    version, _outcome = EXPECTED[name]
    assert boxcheck.checked_out_tag(host) == version
    assert boxcheck.version_file(host) == version
    assert boxcheck.engine_version(host) == version
    assert {n: s for n, (s, _p) in boxcheck.programs(host).items()} == {n: "RUNNING" for n in boxcheck.PROGRAMS}
    assert boxcheck.healthz(host) == "200"
    assert not host.file(LOCK).exists
    assert boxcheck.foreign_state_writes(host) == []


@pytest.mark.parametrize("name", ["fleet-box-1", "fleet-box-2"])
def test_activated_box_recorded_success(name):
    (record,) = history(box(name))
    assert (record["kind"], record["version"], record["outcome"]) == ("activation", "v7.6", "success")
    assert record["previous_version"] == "v7.5"


def test_failed_box_rolled_back_and_recorded_the_gate():
    activation, rollback = history(box(FAILED))
    assert (activation["kind"], activation["version"], activation["outcome"]) == ("activation", "v7.6", "rolled_back")
    assert (activation["failed_gate"], activation["rollback"]) == (FAILED_GATE, "verified")
    assert (rollback["kind"], rollback["version"], rollback["outcome"]) == ("auto_rollback", "v7.5", "success")
    assert boxcheck.parse_timestamp(rollback["finished_at"]) <= boxcheck.parse_timestamp(activation["finished_at"])


@pytest.mark.parametrize("name", UNTOUCHED)
def test_later_batches_untouched(name):
    host = box(name)
    assert boxcheck.checked_out_tag(host) == "v7.5"
    assert history(host) == []
    assert not host.file(LOCK).exists
    before = {}
    for line in host.file(BEFORE).content_string.splitlines():
        parts = line.split()
        if len(parts) > 3 and parts[2] == "pid":
            before[parts[0].split(":", 1)[1]] = (parts[1], parts[3].rstrip(","))
    assert set(before) == set(boxcheck.PROGRAMS)
    assert boxcheck.programs(host) == before


def test_summary_table_in_the_output(run):
    lines = run["stdout"].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("FLEET SUMMARY: activation of v7.6"))
    assert "rollout stopped after a failed batch" in lines[start]
    assert lines[start + 1].split() == ["box", "before", "after", "outcome", "duration", "note"]
    rows = {line.split()[0]: line.split() for line in lines[start + 3:start + 3 + len(EXPECTED)]}
    assert set(rows) == set(EXPECTED)
    for name, (version, outcome) in EXPECTED.items():
        assert rows[name][3] == outcome, rows[name]
    assert rows[FAILED][1:3] == ["v7.5", "v7.5"]
    assert rows[CANARY][1:3] == ["v7.5", "v7.6"]
    assert f"gate {FAILED_GATE}" in " ".join(rows[FAILED])
    assert lines[start + 3 + len(EXPECTED)] == "6 boxes: 1 rolled_back, 2 success, 3 untouched"


def test_summary_json(summary):
    rows = {row["box"]: row for row in summary["rows"]}
    assert summary["schema"] == "gpt-hedge.fleet-summary/v1"
    assert {name: row["outcome"] for name, row in rows.items()} == {n: o for n, (_v, o) in EXPECTED.items()}
    for name in ACTIVATED:
        assert rows[name]["version_before"] == "v7.5"
        assert rows[name]["version_after"] == EXPECTED[name][0]
        assert rows[name]["duration_s"] > 0
    assert rows[FAILED]["failed_gate"] == FAILED_GATE
    assert rows[FAILED]["rollback"] == "verified"
    for name in UNTOUCHED:
        assert rows[name]["duration_s"] is None and rows[name]["version_after"] == ""
