"""The fleet_summary callback's rows and table (plugins/callback/fleet_summary.py)."""
import json
from types import SimpleNamespace

import pytest

from ansible_collections.gpt_hedge.activation.plugins.callback import fleet_summary
from ansible_collections.gpt_hedge.activation.plugins.filter.gates import access_reason
from ansible_collections.gpt_hedge.activation.plugins.callback.fleet_summary import (
    build_rows, format_duration, render_table)

BOXES = ["box-1", "box-2", "box-3", "box-4", "box-5", "box-6"]


def row(outcome, before="v7.5", after="v7.6", **extra):
    return dict({"kind": "activation", "target": "v7.6", "outcome": outcome,
                 "version_before": before, "version_after": after}, **extra)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "-"), (0.04, "0.0s"), (23.44, "23.4s"), (59.9, "59.9s"), (60, "1m00s"), (125.4, "2m05s")],
)
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("name", "reported", "seen", "outcome", "note"),
    [
        ("box-1", {"box-1": row("success")}, {}, "success", ""),
        ("box-1", {"box-1": row("rolled_back", after="v7.5", failed_gate="verify.engine_version", rollback="verified")},
         {}, "rolled_back", "gate verify.engine_version; rollback verified"),
        ("box-1", {"box-1": row("rollback_failed", failed_gate="verify.boot_line", rollback="failed")}, {},
         "rollback_failed", "gate verify.boot_line; rollback failed"),
        ("box-1", {"box-1": row("refused", after="v7.5", failed_gate="preflight.ci_status", rollback="not_needed")}, {},
         "refused", "gate preflight.ci_status"),
        ("box-1", {"box-1": row("success", incidents=["NAV jump", "DD flap"])}, {}, "success",
         "incidents: NAV jump, DD flap"),
        # The bake window's result (opslog role: bake_report.summary), unless no bake ran.
        ("box-1", {"box-1": row("success", bake="passed, 4 checks in 20 s")}, {}, "success",
         "bake passed, 4 checks in 20 s"),
        ("box-1", {"box-1": row("rolled_back", after="v7.5", failed_gate="bake.state_publish", rollback="verified",
                                bake="FAILED bake.state_publish at +10.0 s")}, {}, "rolled_back",
         "gate bake.state_publish; rollback verified; bake FAILED bake.state_publish at +10.0 s"),
        ("box-1", {"box-1": row("success", bake="not run")}, {}, "success", ""),
        # No row: what the run saw of the box.
        ("box-1", {}, {"failures": {"box-1"}, "processed": {"box-1"}, "gates": {"box-1": "lock"}}, "refused", "gate lock"),
        ("box-1", {}, {"unreachable": {"box-1"}, "processed": {"box-1"}}, "unreachable", "gate access"),
        ("box-1", {}, {"processed": {"box-1"}}, "stopped", ""),
        ("box-1", {}, {}, "untouched", "batch never started: the rollout stopped"),
        # A row wins over the run's failure count (the box failed after its ops log).
        ("box-1", {"box-1": row("rolled_back", after="v7.5")}, {"failures": {"box-1"}}, "rolled_back", ""),
    ],
)
def test_build_rows_outcome_and_note(name, reported, seen, outcome, note):
    (result,) = build_rows([name], reported, **seen)
    assert (result["box"], result["outcome"], result["note"]) == (name, outcome, note)


def test_build_rows_keeps_play_order_and_adds_reported_boxes_last():
    reported = {"box-9": row("success"), "box-2": row("success")}
    rows = build_rows(["box-3", "box-2", "box-1"], reported)
    assert [r["box"] for r in rows] == ["box-3", "box-2", "box-1", "box-9"]


def test_build_rows_durations():
    rows = build_rows(["box-1", "box-2"], {"box-1": row("success")}, timing={"box-1": 23.449})
    assert [(r["duration_s"], r["duration"]) for r in rows] == [(23.4, "23.4s"), (None, "-")]


def fleet_rows():
    reported = {
        "box-1": row("success"),
        "box-2": row("success"),
        "box-3": row("rolled_back", after="v7.5", failed_gate="verify.engine_version", rollback="verified"),
    }
    timing = {"box-1": 21.0, "box-2": 40.25, "box-3": 44.0}
    return build_rows(BOXES, reported, processed={"box-1", "box-2", "box-3"}, timing=timing)


def test_render_table_fleet():
    assert render_table(fleet_rows()) == [
        "box    before  after  outcome      duration  note",
        "-----  ------  -----  -----------  --------  " + "-" * len("gate verify.engine_version; rollback verified"),
        "box-1  v7.5    v7.6   success      21.0s",
        "box-2  v7.5    v7.6   success      40.2s",
        "box-3  v7.5    v7.5   rolled_back  44.0s     gate verify.engine_version; rollback verified",
        "box-4  -       -      untouched    -         batch never started: the rollout stopped",
        "box-5  -       -      untouched    -         batch never started: the rollout stopped",
        "box-6  -       -      untouched    -         batch never started: the rollout stopped",
        "6 boxes: 1 rolled_back, 2 success, 3 untouched",
    ]


@pytest.mark.parametrize(
    ("rows", "last"),
    [
        ([], "0 boxes: "),
        (build_rows(["box-1"], {"box-1": row("success")}), "1 box: 1 success"),
        (build_rows(["b1", "b2"], {}, failures={"b1"}), "2 boxes: 1 refused, 1 untouched"),
    ],
)
def test_render_table_count_line(rows, last):
    lines = render_table(rows)
    assert lines[-1] == last
    assert len(lines) == len(rows) + 3
    assert lines[0].split() == ["box", "before", "after", "outcome", "duration", "note"]


class FakeDisplay:
    verbosity = 0

    def __init__(self):
        self.lines = []

    def banner(self, text):
        self.lines.append("BANNER " + text)

    def display(self, text):
        self.lines.append(text)

    def warning(self, text):
        self.lines.append("WARNING " + text)


def fake_stats(custom, failures=(), processed=()):
    return SimpleNamespace(custom=custom, failures={h: 1 for h in failures}, dark={},
                           processed={h: 1 for h in processed})


def callback(tmp_path, targets, monkeypatch):
    monkeypatch.setenv("HEDGE_REPORT_DIR", str(tmp_path / "reports"))
    plugin = fleet_summary.CallbackModule(display=FakeDisplay())
    plugin._targets = list(targets)
    plugin._summarised = {"play"}
    return plugin


def test_on_stats_prints_the_table_and_writes_json(tmp_path, monkeypatch):
    plugin = callback(tmp_path, BOXES[:3], monkeypatch)
    custom = {"_run": {}, "box-1": {"hedge_summary": row("success")},
              "box-2": {"hedge_summary": row("rolled_back", after="v7.5", failed_gate="verify.boot_line")}}
    plugin.v2_playbook_on_stats(fake_stats(custom, failures={"box-2"}, processed={"box-1", "box-2"}))
    lines = plugin._display.lines
    assert lines[0] == "BANNER FLEET SUMMARY: activation of v7.6 (rollout stopped after a failed batch)"
    assert lines[-2] == "3 boxes: 1 rolled_back, 1 success, 1 untouched"
    (path,) = list((tmp_path / "reports").glob("fleet-summary-*.json"))
    assert lines[-1] == "Fleet summary JSON: %s" % path
    document = json.loads(path.read_text())
    assert document["schema"] == "gpt-hedge.fleet-summary/v1"
    assert [(r["box"], r["outcome"], r["version_after"]) for r in document["rows"]] == [
        ("box-1", "success", "v7.6"), ("box-2", "rolled_back", "v7.5"), ("box-3", "untouched", "")]


def test_on_stats_is_silent_without_a_rollout(tmp_path, monkeypatch):
    monkeypatch.setenv("HEDGE_REPORT_DIR", str(tmp_path / "reports"))
    plugin = fleet_summary.CallbackModule(display=FakeDisplay())
    plugin.v2_playbook_on_stats(fake_stats({"_run": {}}, processed={"localhost"}))
    assert plugin._display.lines == []
    assert not (tmp_path / "reports").exists()


PRETAG_REASON = "GATE preflight.pretag FAILED: make pretag-v7.6 exited 2: 1 failed, 8 passed in 0.19s"
PRETAG_DETAIL = ["failed: tests/test_release.py::test_pretag_fault_switch_off",
                 "first error: AssertionError: simulated preflight failure (fault pretag_fail active for v7.6)"]
PRETAG_NEXT = "run `make pretag-v7.6` in a clone of the tag with the box's venv; fix or re-tag"


def test_build_rows_carry_the_failure_of_the_ops_log_row():
    reported = {"box-1": row("refused", after="v7.5", failed_gate="preflight.pretag", reason=PRETAG_REASON,
                             detail=PRETAG_DETAIL, next=PRETAG_NEXT, rollback="not_needed")}
    (result,) = build_rows(["box-1"], reported)
    assert {key: result[key] for key in ("failed_gate", "reason", "detail", "next")} == {
        "failed_gate": "preflight.pretag", "reason": PRETAG_REASON, "detail": PRETAG_DETAIL, "next": PRETAG_NEXT}


def test_build_rows_refused_without_a_row_keeps_the_failed_task_reason():
    (result,) = build_rows(["box-1"], {}, failures={"box-1"}, processed={"box-1"}, gates={"box-1": "lock"},
                           reasons={"box-1": "GATE lock FAILED: localbox is locked by activation v7.6 of bob"})
    assert (result["outcome"], result["failed_gate"], result["reason"]) == \
        ("refused", "lock", "GATE lock FAILED: localbox is locked by activation v7.6 of bob")


@pytest.mark.parametrize(
    ("msg", "reason"),
    [
        ('Task failed: Data could not be sent to remote host "10.0.4.17". Make sure this host can be reached over ssh: '
         'Host key verification failed.', "GATE access FAILED: Host key verification failed."),
        ('Task failed: Data could not be sent to remote host "127.0.0.1". Make sure this host can be reached over ssh: '
         'ssh: connect to host 127.0.0.1 port 2222: Connection refused',
         "GATE access FAILED: ssh: connect to host 127.0.0.1 port 2222: Connection refused"),
        ("Failed to connect to the host via ssh: operator@box1: Permission denied (publickey).",
         "GATE access FAILED: operator@box1: Permission denied (publickey)."),
    ],
)
def test_an_unreachable_box_names_the_access_gate_and_the_cause(msg, reason):
    (result,) = build_rows(["box-1"], {}, unreachable={"box-1"}, processed={"box-1"},
                           reasons={"box-1": access_reason(msg)})
    assert (result["outcome"], result["failed_gate"], result["reason"]) == ("unreachable", "access", reason)
    assert "sudo rights" in result["next"]
