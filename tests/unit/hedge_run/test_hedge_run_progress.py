"""hedge_run.progress over real ansible-runner event dicts: stage extraction,
progress lines, the JSON-lines event log, the per-host summary, exit codes."""
from __future__ import annotations

import datetime
import json
import re

import pytest

from hedge_run.progress import TICK_EVERY, Progress, format_line, gate_in, one_line, stage_of, task_title


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

    assert progress.exit_code("successful", 0) == 0
    summary = progress.summary_lines("activate.yml v7.6", 0)
    assert summary[0].startswith("hedge_run activate.yml v7.6: success (exit 0) in ")
    assert f"{len(ok_events)} events in {tmp_path / 'artifacts' / 'events.jsonl'}" in summary[0]
    assert summary[1].split() == ["localbox", "success", "ok=103", "changed=2", "failed=0", "unreachable=0",
                                  "rescued=0", "skipped=5"]


def test_refused_activation_names_the_gate_once(tmp_path, refused_events):
    progress, lines = feed(tmp_path, refused_events)
    failed = [fields(line) for line in lines if fields(line)[3] == "FAILED"]
    # The gate's failure, once: the playbook's closing "Fail the run" repeats the same message.
    assert [(host, stage, msg) for _, host, stage, _, msg in failed] == [
        ("localbox", "preflight", "GATE preflight.tag_exists FAILED: tag v9.9 not found on file:///tmp/hr/box/origin.git")]
    outcome = progress.host_outcomes()["localbox"]
    assert (outcome["outcome"], outcome["failed"], outcome["failed_gate"]) == ("refused", 1, "preflight.tag_exists")
    assert progress.exit_code("failed", 2) == 3
    summary = progress.summary_lines("activate.yml v9.9", 3)
    assert summary[0].startswith("hedge_run activate.yml v9.9: refused (exit 3) in ")
    assert summary[1].split()[:2] == ["localbox", "refused"]
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
    stats = {"event": "playbook_on_stats", "event_data": {"ok": {"localbox": 1}, "failures": {}, "ignored": {"localbox": 1}}}
    progress, lines = feed(tmp_path, [event, stats])
    assert fields(lines[-1])[3] == "ignored"
    assert progress.host_outcomes()["localbox"]["outcome"] == "success"
    assert progress.exit_code("successful", 0) == 0


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
    assert progress.exit_code("failed", 4) == 1


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


class EventClock:
    """A clock set by hand: to each event's `created` time, or to any second of the test."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def at(self, event):
        self.now = datetime.datetime.fromisoformat(event["created"]).timestamp()
        return self.now


def test_async_poll_lines_name_the_running_task_with_its_elapsed_time(tmp_path, slow_pretag_events):
    """The poll events name only async_status: the line names the host's running task (runner_on_start),
    at most every WAIT_LINE_EVERY s. Polls of the real run came 10.8, 17.3 and 23.2 s after the start."""
    clock = EventClock()
    clock.at(slow_pretag_events[0])
    lines = []
    progress = Progress(events_path=tmp_path / "ev.jsonl", out=lines.append, clock=clock)
    polled = []
    for event in slow_pretag_events:
        clock.at(event)
        before = len(lines)
        progress.event_handler(event)
        if event["event"] == "runner_on_async_poll":
            polled.append(lines[before:])
    assert [[fields(line)[1:] for line in new] for new in polled] == [
        [["localbox", "preflight", "running",
          "Clone the target tag into a scratch directory and run its checks and make pretag: 11 s so far"]],
        [],  # 6.5 s after the last line
        [["localbox", "preflight", "running",
          "Clone the target tag into a scratch directory and run its checks and make pretag: 23 s so far"]],
    ]
    assert fields(lines[-1])[3:] == ["ok", "GATE preflight.pretag passed: make pretag-v7.6"]
    assert progress.hosts["localbox"].task_started is None  # the gate's result ended its task


@pytest.mark.parametrize(
    ("quiet_for", "task_for", "printed"),
    [
        (14.9, 30.0, False),  # something was printed less than TICK_EVERY s ago
        (15.0, 30.0, True),
        (15.0, 9.0, False),   # the task itself runs since less than WAIT_LINE_EVERY s
        (40.0, 40.0, True),
    ],
)
def test_tick_prints_a_running_line_when_the_run_is_quiet(tmp_path, slow_pretag_events, quiet_for, task_for, printed):
    """A task without async polls (a restart waiting for RUNNING): tick(), called every second by hedge_run's
    thread, prints the running task and its elapsed time when nothing was printed for TICK_EVERY s."""
    clock = EventClock()
    lines = []
    progress = Progress(events_path=tmp_path / "ev.jsonl", out=lines.append, clock=clock)
    start = next(e for e in slow_pretag_events if e["event"] == "runner_on_start")
    clock.now = 1000.0 - task_for
    progress.event_handler(start)
    progress._last_output = 1000.0 - quiet_for
    clock.now = 1000.0
    progress.tick()
    expected = [["localbox", "preflight", "running",
                 f"Clone the target tag into a scratch directory and run its checks and make pretag: {task_for:.0f} s so far"]]
    assert [fields(line)[1:] for line in lines] == (expected if printed else [])
    if printed:  # the next line TICK_EVERY s later at the earliest
        clock.now += TICK_EVERY - 0.1
        progress.tick()
        assert len(lines) == 1
        clock.now += 0.1
        progress.tick()
        assert len(lines) == 2 and lines[1].endswith(f": {task_for + TICK_EVERY:.0f} s so far")


def test_tick_without_a_running_task_prints_nothing(tmp_path, slow_pretag_events):
    clock = EventClock()
    lines = []
    progress = Progress(events_path=tmp_path / "ev.jsonl", out=lines.append, clock=clock)
    for event in slow_pretag_events:
        clock.at(event)
        progress.event_handler(event)
    count = len(lines)
    clock.now += 600
    progress.tick()
    assert len(lines) == count


def without_row(events):
    """The events without the opslog role's fleet summary row (as when the ops log could not be written)."""
    return [e for e in events if "hedge_summary" not in json.dumps(e["event_data"].get("res", {}))]


@pytest.mark.parametrize(
    ("fixture", "drop_row", "outcome", "code", "gate"),
    [
        ("ok_events", False, "success", 0, ""),
        ("refused_events", False, "refused", 3, "preflight.tag_exists"),
        ("rolled_back_events", False, "rolled_back", 4, "verify.engine_version"),
        ("rolled_back_events", True, "rolled_back", 4, "verify.engine_version"),        # from the history record
        ("rollback_failed_events", False, "rollback_failed", 6, "verify.engine_version"),
        ("rollback_failed_events", True, "rollback_failed", 6, "verify.engine_version"),
    ],
)
def test_outcome_is_read_from_the_events_not_from_rc(tmp_path, request, fixture, drop_row, outcome, code, gate):
    """The fleet summary row (set_stats of the opslog role), else the closed history record of the run (not the
    automatic rollback's own record): ansible's rc is 2 for every failed case."""
    events = request.getfixturevalue(fixture)
    progress, _ = feed(tmp_path, without_row(events) if drop_row else events)
    host = progress.host_outcomes()["localbox"]
    assert (host["outcome"], host["code"], host["failed_gate"]) == (outcome, code, gate)
    assert progress.exit_code("successful" if code == 0 else "failed", 0 if code == 0 else 2) == code
    assert progress.summary_lines("activate.yml", code)[0].startswith(f"hedge_run activate.yml: {outcome} (exit {code}) in ")


def rename_host(events, name):
    renamed = json.loads(json.dumps(events).replace('"localbox"', json.dumps(name)))
    for event in renamed:
        if event["event"] == "playbook_on_stats":
            event["event"] = "ignored_stats"  # one stats event for the fleet, below
    return renamed


@pytest.mark.parametrize(
    ("fixtures", "outcome", "code"),
    [
        (("ok_events", "refused_events"), "refused", 3),
        (("refused_events", "rolled_back_events", "ok_events"), "rolled_back", 4),
        (("rollback_failed_events", "rolled_back_events"), "rollback_failed", 6),
    ],
)
def test_the_worst_box_decides_for_a_fleet(tmp_path, request, fixtures, outcome, code):
    events, stats = [], {"ok": {}, "failures": {}, "changed": {}, "dark": {}}
    for n, fixture in enumerate(fixtures):
        name = f"box-{n + 1}"
        for event in rename_host(request.getfixturevalue(fixture), name):
            if event["event"] == "ignored_stats":
                for key in stats:
                    stats[key].update(event["event_data"].get(key) or {})
            else:
                events.append(event)
    progress, _ = feed(tmp_path, [*events, {"event": "playbook_on_stats", "event_data": stats}])
    assert progress.exit_code("failed", 2) == code
    lines = progress.summary_lines("activate.yml v7.6", code)
    assert lines[0].startswith(f"hedge_run activate.yml v7.6: {outcome} (exit {code}) in ")
    assert [line.split()[:2] for line in lines[1:]] == [
        [f"box-{n + 1}", "success" if f == "ok_events" else f.replace("_events", "")] for n, f in enumerate(fixtures)]


def test_a_loop_item_result_does_not_end_the_running_task(tmp_path, ok_events):
    """`Restart the programs one by one`: its item results come before the task's own result."""
    clock = EventClock()
    lines = []
    progress = Progress(events_path=tmp_path / "ev.jsonl", out=lines.append, clock=clock)
    item = by_task(ok_events, "runner_item_on_skipped", "Restart the programs one by one")
    start = json.loads(json.dumps(item))
    start["event"] = "runner_on_start"
    progress.event_handler(start)
    progress.event_handler(item)
    clock.now = 20.0
    progress.tick()
    assert [fields(line)[1:] for line in lines] == [
        ["localbox", "restart", "running", "Restart the programs one by one: 20 s so far"]]
