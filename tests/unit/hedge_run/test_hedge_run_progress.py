"""hedge_run.progress over real ansible-runner event dicts: stage extraction,
progress lines, the JSON-lines event log, the per-host summary, exit codes."""
from __future__ import annotations

import json
import re

import pytest

from hedge_run.progress import Progress, exit_code, format_line, gate_in, one_line, stage_of, task_title


class Clock:
    """A fake monotonic clock: each reading advances 0.5 s."""

    def __init__(self):
        self.now = 100.0

    def __call__(self):
        self.now += 0.5
        return self.now


def feed(tmp_path, events, name="events.jsonl"):
    lines = []
    progress = Progress(events_path=tmp_path / "artifacts" / name, out=lines.append, clock=Clock())
    for event in events:
        assert progress.event_handler(event) is True  # ansible-runner keeps writing its own job_events
    lines += progress.flush_error()
    progress.close()
    return progress, lines


def fields(line):
    """[elapsed, host, stage, status, message] of a progress line."""
    match = re.match(r"^\[\s*(\d+\.\d)s\] (\S+)\s+(\S+)\s+(\S+)\s+(.*)$", line)
    assert match, line
    return list(match.groups())


def by_task(events, kind, needle):
    return next(e for e in events if e["event"] == kind and needle in e["event_data"].get("task", ""))


def test_stage_is_the_role_short_name(ok_events, refused_events):
    gate = by_task(ok_events, "runner_on_ok", "Gate preflight.tag_exists")
    assert gate["event_data"]["resolved_role"] == "gpt_hedge.activation.preflight"
    assert stage_of(gate["event_data"]) == "preflight"
    assert stage_of(by_task(ok_events, "runner_on_ok", "Gate deploy.checkout")["event_data"]) == "deploy_git"
    assert stage_of(by_task(ok_events, "runner_on_ok", "Gate restart.programs_running")["event_data"]) == "restart"
    assert stage_of(by_task(ok_events, "runner_on_ok", "arg spec 'heartbeat'")["event_data"]) == "ledger"
    # Tasks of the playbook itself have no role.
    assert stage_of(by_task(ok_events, "runner_on_ok", "Keep the lock alive after the preflight")["event_data"]) is None
    assert stage_of(by_task(refused_events, "runner_on_failed", "Fail the run")["event_data"]) is None
    # Only the role's short name when ansible-runner reports no resolved_role.
    assert stage_of({"role": "gpt_hedge.activation.verify"}) == "verify"
    assert stage_of({"role": "opslog"}) == "opslog"


def test_successful_activation_lines(tmp_path, ok_events):
    progress, lines = feed(tmp_path, ok_events)
    rows = [fields(line) for line in lines]
    starts = [(host, stage) for _, host, stage, status, _ in rows if status == "start"]
    assert starts == [("localbox", s) for s in
                      ("box", "ledger", "preflight", "ledger", "deploy_git", "restart", "verify", "incidents")]
    gates = {re.match(r"GATE (\S+)", msg).group(1): (stage, status, msg)
             for _, host, stage, status, msg in rows if msg.startswith("GATE ")}
    assert gates["input.version"] == ("box", "ok", "GATE input.version passed: v7.6")
    assert gates["preflight.tag_exists"] == (
        "preflight", "ok", "GATE preflight.tag_exists passed: v7.6 on file:///tmp/hr/box/origin.git")
    assert gates["preflight.ci_status"][:2] == ("preflight", "skip")
    assert gates["restart.programs_running"][:2] == ("restart", "ok")
    assert gates["verify.runtime_sanity"][:2] == ("verify", "ok")
    assert gates["incidents"][:2] == ("incidents", "ok")
    assert not [r for r in rows if r[3] in ("FAILED", "UNREACH", "ERROR")]
    # The argument-spec check reads as the stage's description; a tasks_from entry point is named.
    assert rows[0][4] == "Describe the runtime box and validate the inputs."
    assert any(r[2] == "ledger" and r[4].startswith("heartbeat: Refresh the lock's heartbeat") for r in rows)
    # Elapsed seconds grow with the clock.
    stamps = [float(r[0]) for r in rows]
    assert stamps == sorted(stamps) and stamps[0] > 0

    assert not progress.any_host_failed()
    summary = progress.summary_lines("activate.yml v7.6", 0)
    assert summary[0].startswith("hedge_run activate.yml v7.6 succeeded in ")
    assert f"{len(ok_events)} events in {tmp_path / 'artifacts' / 'events.jsonl'}" in summary[0]
    assert summary[1].split() == ["localbox", "ok", "ok=103", "changed=2", "failed=0", "unreachable=0",
                                  "rescued=0", "skipped=5"]


def test_refused_activation_names_the_gate_once(tmp_path, refused_events):
    progress, lines = feed(tmp_path, refused_events)
    failed = [fields(line) for line in lines if fields(line)[3] == "FAILED"]
    # The gate's failure, once: the playbook's closing "Fail the run" repeats the same message.
    assert [(host, stage, msg) for _, host, stage, _, msg in failed] == [
        ("localbox", "preflight", "GATE preflight.tag_exists FAILED: tag v9.9 not found on file:///tmp/hr/box/origin.git")]
    assert progress.any_host_failed()
    outcome = progress.host_outcomes()["localbox"]
    assert (outcome["outcome"], outcome["failed"], outcome["failed_gate"]) == ("failed", 1, "preflight.tag_exists")
    summary = progress.summary_lines("activate.yml v9.9", 2)
    assert summary[0].startswith("hedge_run activate.yml v9.9 FAILED (exit 2) in ")
    assert summary[1].split()[:2] == ["localbox", "failed"]
    assert summary[1].endswith("failed gate: preflight.tag_exists")


def test_failure_without_a_gate_is_one_line_with_the_task(tmp_path, refused_events):
    event = json.loads(json.dumps(by_task(refused_events, "runner_on_failed", "Gate preflight.tag_exists")))
    event["event_data"].update(task="Fetch the tags", task_action="ansible.builtin.command",
                               resolved_role="gpt_hedge.activation.deploy_git", role="deploy_git")
    event["event_data"]["res"] = {"changed": False, "rc": 128, "msg": "non-zero return code",
                                  "stderr": "fatal: could not read from remote\nrepository"}
    progress, lines = feed(tmp_path, [event])
    assert [fields(line)[1:] for line in lines] == [
        ["localbox", "deploy_git", "start", "Fetch the tags"],
        ["localbox", "deploy_git", "FAILED", "Fetch the tags: non-zero return code"],
    ]
    assert progress.host_outcomes()["localbox"]["failure"] == "non-zero return code"


def test_ignored_failure_is_shown_not_counted(tmp_path, refused_events):
    event = json.loads(json.dumps(by_task(refused_events, "runner_on_failed", "Gate preflight.tag_exists")))
    event["event_data"]["ignore_errors"] = True
    progress, lines = feed(tmp_path, [event])
    assert fields(lines[-1])[3] == "ignored"
    assert progress.host_outcomes()["localbox"]["outcome"] == "ok"


def test_unreachable_host(tmp_path, refused_events):
    event = json.loads(json.dumps(by_task(refused_events, "runner_on_failed", "Gate preflight.tag_exists")))
    event["event"] = "runner_on_unreachable"
    event["event_data"].update(host="box2", remote_addr="10.0.0.7", task="Gathering Facts", role=None,
                               resolved_role=None)
    event["event_data"]["res"] = {"changed": False, "unreachable": True,
                                  "msg": "Failed to connect to the host via ssh: ssh: connect to host 10.0.0.7 "
                                         "port 22: Connection refused"}
    stats = {"event": "playbook_on_stats", "event_data": {"dark": {"box2": 1}, "ok": {}, "failures": {}}}
    progress, lines = feed(tmp_path, [event, stats])
    assert fields(lines[0])[1:4] == ["box2", "play", "UNREACH"]
    assert "Connection refused" in lines[0]
    assert progress.host_outcomes()["box2"]["outcome"] == "unreachable"
    assert exit_code("failed", 4, progress.any_host_failed()) == 4


def test_ansible_errors_before_any_host(tmp_path):
    """A missing file or a syntax error: verbose events, one output line each, folded into one line."""
    lines_out = ["[ERROR]: Unable to retrieve file contents.",
                 "Could not find or access '/work/main/playbooks/compose.yml' on the Ansible Controller.",
                 ""]
    events = [{"event": "verbose", "stdout": text, "counter": n + 1, "uuid": f"u{n}", "event_data": {},
               "runner_ident": "activate-x", "created": "2026-11-25T14:07:33+00:00"}
              for n, text in enumerate(lines_out)]
    progress, lines = feed(tmp_path, events)
    assert len(lines) == 1
    assert fields(lines[0])[1:] == ["-", "ansible", "ERROR", "[ERROR]: Unable to retrieve file contents. "
                                    "Could not find or access '/work/main/playbooks/compose.yml' on the Ansible Controller."]
    assert progress.summary_lines("activate.yml v7.6", 1)[1:] == [
        "  no host ran a task", "  error: " + fields(lines[0])[4]]


def test_warning_gate_status(tmp_path, ok_events):
    event = json.loads(json.dumps(by_task(ok_events, "runner_on_ok", "Gate verify.runtime_sanity")))
    event["event_data"]["res"]["msg"] = "GATE verify.sanity WARNING: scripts/runtime_sanity_check_v7_5.py missing in v7.5, not run"
    _, lines = feed(tmp_path, [event])
    assert fields(lines[-1])[2:4] == ["verify", "warn"]


def test_events_file_holds_every_event_as_json(tmp_path, ok_events):
    progress, _ = feed(tmp_path, ok_events)
    written = [json.loads(line) for line in (tmp_path / "artifacts" / "events.jsonl").read_text().splitlines()]
    assert written == ok_events
    assert progress.event_count == len(ok_events)
    assert written[-1]["event"] == "playbook_on_stats"


def test_format_line_and_helpers():
    assert format_line(12.34, "localbox", "preflight", "ok", "GATE preflight.tag_exists passed: v7.6") == \
        "[  12.3s] localbox  preflight   ok     GATE preflight.tag_exists passed: v7.6"
    assert one_line(["GATE a FAILED:\n  x", "\x1b[0;31my\x1b[0m"]) == "GATE a FAILED: x y"
    assert len(one_line("x" * 1000)) == 400 and one_line("x" * 1000).endswith("...")
    assert gate_in("-- GATE verify.boot_line FAILED: no boot line -- automatic rollback to v7.5: verified") == (
        "verify.boot_line", "FAILED", "GATE verify.boot_line FAILED: no boot line -- automatic rollback to v7.5: verified")
    assert gate_in("GATE preflight.ci_status NOT CHECKED: not configured")[1] == "skip"
    assert gate_in("Gate preflight.tag_exists - the tag exists on origin") is None
    assert task_title("Validating arguments against arg spec 'finish' - Close this run's history record.") == \
        "finish: Close this run's history record."
    assert task_title("Restart the programs") == "Restart the programs"


@pytest.mark.parametrize(
    ("status", "rc", "host_failed", "code"),
    [
        ("successful", 0, False, 0),
        ("failed", 2, True, 2),       # a failed host: ansible's rc
        ("failed", 4, True, 4),       # unreachable
        ("failed", 1, False, 1),      # ansible's own error (no host ran)
        ("failed", 0, False, 1),      # never 0 for a failed run
        ("failed", None, False, 1),
        ("successful", 0, True, 1),   # a failed host in the stats is a failure whatever the rc
        ("timeout", 254, False, 254),
        ("canceled", 254, False, 130),
    ],
)
def test_exit_code(status, rc, host_failed, code):
    assert exit_code(status, rc, host_failed) == code


def test_a_bad_event_or_events_file_never_stops_the_run(tmp_path, ok_events):
    """The handler always returns True and keeps going: a run that may be changing a box is never
    interrupted by the display."""
    lines = []
    blocked = tmp_path / "file"
    blocked.write_text("")
    progress = Progress(events_path=blocked / "events.jsonl", out=lines.append, clock=Clock())
    assert progress.event_handler({"event": "runner_on_ok", "event_data": ["not", "a", "dict"]}) is True
    assert progress.event_handler(by_task(ok_events, "runner_on_ok", "Gate input.version")) is True
    progress.close()
    warnings = [line for line in lines if line.startswith("hedge_run: warning: ")]
    assert len(warnings) == 2  # the events file once (not once per event), the bad event once
    assert any("cannot write" in w for w in warnings) and any("cannot show event runner_on_ok" in w for w in warnings)
    assert any("GATE input.version passed: v7.6" in line for line in lines)
