"""ansible-runner events -> progress lines, a JSON-lines event log and a
per-host summary with each box's outcome. Works on the event dicts
ansible-runner hands to its event_handler (never on the stdout text). While a
task runs long (make pretag, a restart waiting for its programs), a `running`
line names it with its elapsed time: on each async poll of the task (at most
every WAIT_LINE_EVERY s) and from tick() when nothing was printed for
TICK_EVERY s."""
from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Callable

from hedge_run.exit_codes import exit_code, host_code

# The collection's roles, in the order an activation goes through them.
STAGES = ("box", "ledger", "preflight", "deploy_git", "restart", "verify", "bake", "rollback", "incidents", "opslog")
# Tasks outside any role (the playbooks' own set_fact / fail tasks).
PLAY_STAGE = "play"

GATE_RE = re.compile(r"GATE (?P<gate>[A-Za-z0-9_.\-]+) (?P<word>passed|FAILED|WARNING|NOT CHECKED)\b")
GATE_STATUS = {"passed": "ok", "FAILED": "FAILED", "WARNING": "warn", "NOT CHECKED": "skip"}
ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
ERROR_LINE_RE = re.compile(r"^\s*(?:\[ERROR\]|ERROR!)")
MAX_MESSAGE = 400
# A `running` line at most this often per host on async polls, and from tick() when nothing was printed for
# TICK_EVERY s while a task runs (a line at least every 15 s during a long step).
WAIT_LINE_EVERY = 10.0
TICK_EVERY = 15.0

RESULT_EVENTS = {
    "runner_on_ok", "runner_on_failed", "runner_on_unreachable",
    "runner_item_on_ok", "runner_item_on_failed",
}
# The task's own result ends the host's running task (a loop's item results do not).
END_EVENTS = {"runner_on_ok", "runner_on_failed", "runner_on_unreachable", "runner_on_skipped"}
# The opslog role's row of the fleet summary (set_stats per host) and the ledger's closed history record:
# where a box's outcome is read from.
ROW_KEY = "hedge_summary"
INCLUDE_ACTIONS = {"include_role", "ansible.builtin.include_role", "include_tasks", "ansible.builtin.include_tasks",
                   "import_role", "ansible.builtin.import_role"}


def one_line(text: object, limit: int = MAX_MESSAGE) -> str:
    """Fold any message (str, list of lines, other) onto one line, without colour codes."""
    if isinstance(text, (list, tuple)):
        text = " ".join(str(part) for part in text)
    folded = " ".join(ANSI_RE.sub("", str(text if text is not None else "")).split())
    return folded if len(folded) <= limit else folded[: limit - 3] + "..."


ARGSPEC_TASK_RE = re.compile(r"^Validating arguments against arg spec '(?P<entry>[^']+)' - (?P<text>.*)$")


def task_title(task: object) -> str:
    """A task name for a stage line; a role's argument-spec check becomes its entry point and description
    ("Validating arguments against arg spec 'heartbeat' - Refresh ..." -> "heartbeat: Refresh ...")."""
    name = one_line(task)
    match = ARGSPEC_TASK_RE.match(name)
    if not match:
        return name
    return match.group("text") if match.group("entry") == "main" else f"{match.group('entry')}: {match.group('text')}"


def stage_of(event_data: dict) -> str | None:
    """The stage of a task event: the role's short name (gpt_hedge.activation.preflight -> preflight),
    or None for a task outside any role."""
    role = event_data.get("resolved_role") or event_data.get("role") or ""
    if not role:
        return None
    return str(role).rsplit(".", 1)[-1]


def result_message(res: dict) -> str:
    """The one-line message of a task result: msg, else stderr/stdout of a command, else the exception."""
    if not isinstance(res, dict):
        return one_line(res)
    for key in ("msg", "stderr", "stdout", "exception", "reason"):
        value = res.get(key)
        if value:
            return one_line(value)
    if res.get("rc") not in (None, 0):
        return f"exited {res['rc']}"
    return ""


def gate_in(message: str) -> tuple[str, str, str] | None:
    """(gate, status, text from 'GATE ...' on) when the message names a gate."""
    match = GATE_RE.search(message)
    if not match:
        return None
    return match.group("gate"), GATE_STATUS[match.group("word")], message[match.start():]


def format_line(elapsed: float, host: str, stage: str, status: str, message: str) -> str:
    """`[  12.3s] localbox  preflight   ok     GATE preflight.tag_exists passed: ...`"""
    return f"[{elapsed:6.1f}s] {host:<9} {stage:<11} {status:<6} {message}".rstrip()


@dataclass
class HostState:
    stage: str | None = None
    failed_gate: str = ""
    failed_task: str = ""
    failure: str = ""
    unreachable: bool = False
    printed_failures: set = field(default_factory=set)
    row: dict | None = None        # the fleet summary row (opslog role)
    record_outcome: str = ""       # the outcome of the closed history record (ledger role)
    changed: bool = False          # a task reported a change of the box's release
    task: str = ""                 # the task running now (runner_on_start .. its result)
    task_stage: str = PLAY_STAGE
    task_started: float | None = None
    last_wait_line: float = 0.0


@dataclass
class Progress:
    """event_handler / status_handler for ansible_runner.run()."""

    events_path: Path
    out: Callable[[str], None] = print
    clock: Callable[[], float] = time.monotonic
    started: float = field(default=0.0)
    hosts: dict = field(default_factory=dict)
    stats: dict | None = None
    status: str = ""
    event_count: int = 0
    errors: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    _error: list = field(default_factory=list)
    _events_file: IO[str] | None = None
    _last_output: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if not self.started:
            self.started = self.clock()
        self._last_output = self.started

    def _emit(self, line: str) -> None:
        self._last_output = self.clock()
        self.out(line)

    # ansible-runner callbacks -------------------------------------------------------------
    def event_handler(self, event: dict) -> bool:
        with self._lock:
            return self._handle(event)

    def _handle(self, event: dict) -> bool:
        # A display or disk problem must never interrupt a run that may be changing a box: it is
        # reported once and the run goes on (ansible-runner keeps its own job_events regardless).
        try:
            self._write(event)
        except (OSError, TypeError, ValueError) as exc:
            self._complain(f"cannot write {self.events_path}: {exc}")
        try:
            lines = self.lines_for(event)
        except Exception as exc:  # noqa: BLE001 - see above
            lines = []
            kind = event.get("event") if isinstance(event, dict) else type(event).__name__
            self._complain(f"cannot show event {kind}: {exc!r}")
        for line in lines:
            self._emit(line)
        return True  # keep ansible-runner's own artifacts/<ident>/job_events

    def _complain(self, text: str) -> None:
        if text not in self.problems:
            self.problems.append(text)
            self._emit(f"hedge_run: warning: {one_line(text)}")

    def tick(self) -> None:
        """Called every second or so by a thread while the run goes on: when nothing was printed for
        TICK_EVERY s, one `running` line per host whose task runs since WAIT_LINE_EVERY s or more."""
        with self._lock:
            now = self.clock()
            if now - self._last_output < TICK_EVERY:
                return
            for name, state in sorted(self.hosts.items()):
                if state.task_started is not None and now - state.task_started >= WAIT_LINE_EVERY:
                    self._emit(self._running_line(name, state, now))

    def _running_line(self, name: str, state: HostState, now: float) -> str:
        state.last_wait_line = now
        return format_line(now - self.started, name, state.task_stage, "running",
                           f"{state.task}: {now - state.task_started:.0f} s so far")

    def status_handler(self, status_data: dict, runner_config=None) -> None:
        self.status = status_data.get("status", self.status)

    # ----------------------------------------------------------------------------------------
    def elapsed(self) -> float:
        return self.clock() - self.started

    def host(self, name: str) -> HostState:
        return self.hosts.setdefault(name, HostState())

    def lines_for(self, event: dict) -> list[str]:
        """The progress lines one event produces (and the bookkeeping for the summary)."""
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        if kind == "playbook_on_stats":
            self.stats = data
            return []
        if kind == "verbose":
            return self._verbose(str(event.get("stdout", "")))
        lines = self.flush_error()
        name = data.get("host") or data.get("remote_addr") or "-"
        if kind == "runner_on_start":
            self._task_started(self.host(name), data)
        elif kind == "runner_on_async_poll":
            lines += self._async_poll(name)
        if kind in END_EVENTS:
            self.host(name).task_started = None
        if kind not in RESULT_EVENTS:
            return lines
        state = self.host(name)
        stage = stage_of(data)
        action = data.get("task_action", "")
        if stage is not None and stage != state.stage and action not in INCLUDE_ACTIONS:
            state.stage = stage
            lines.append(format_line(self.elapsed(), name, stage, "start", task_title(data.get("task", ""))))
        label = stage or PLAY_STAGE
        res = data.get("res") or {}
        self._read_outcome(state, kind, res)
        message = result_message(res)
        gate = gate_in(message)
        failed = kind in ("runner_on_failed", "runner_item_on_failed")
        ignored = bool(data.get("ignore_errors"))
        if kind == "runner_on_unreachable":
            state.unreachable = True
            state.failure = state.failure or message
            lines.append(format_line(self.elapsed(), name, label, "UNREACH", message or "host unreachable"))
        elif failed and not ignored:
            if gate and not state.failed_gate:
                state.failed_gate = gate[0]
            if not state.failed_task:
                state.failed_task = one_line(data.get("task", ""))
                state.failure = gate[2] if gate else message
            # A playbook's closing "Fail the run" repeats the failure already shown: one line is enough.
            seen = gate[2] if gate else message
            if seen not in state.printed_failures:
                state.printed_failures.add(seen)
                text = gate[2] if gate else f"{one_line(data.get('task', ''))}: {message or 'failed'}"
                lines.append(format_line(self.elapsed(), name, label, "FAILED", text))
        elif gate:
            lines.append(format_line(self.elapsed(), name, label, "ignored" if failed else gate[1], gate[2]))
        elif failed:  # ignore_errors: shown, not counted
            lines.append(format_line(self.elapsed(), name, label, "ignored",
                                     f"{one_line(data.get('task', ''))}: {message or 'failed'}"))
        return lines

    def _task_started(self, state: HostState, data: dict) -> None:
        state.task = task_title(data.get("task", ""))
        state.task_stage = stage_of(data) or PLAY_STAGE
        state.task_started = state.last_wait_line = self.clock()

    def _async_poll(self, name: str) -> list[str]:
        """An async job of the host's running task is still going: a `running` line, at most every
        WAIT_LINE_EVERY s (the poll event itself names only async_status)."""
        state = self.host(name)
        now = self.clock()
        if state.task_started is None or now - state.last_wait_line < WAIT_LINE_EVERY:
            return []
        return [self._running_line(name, state, now)]

    @staticmethod
    def _read_outcome(state: HostState, kind: str, res: dict) -> None:
        """Keep the box's fleet summary row and its closed history record's outcome."""
        if kind != "runner_on_ok" or not isinstance(res, dict):
            return
        state.changed = state.changed or res.get("changed") is True
        row = ((res.get("ansible_stats") or {}).get("data") or {}).get(ROW_KEY)
        if isinstance(row, dict) and row.get("outcome"):
            state.row = row
        record = res.get("record")
        # The automatic rollback's own record (kind auto_rollback) is not the run's outcome.
        if (isinstance(record, dict) and record.get("outcome") not in (None, "", "in_progress")
                and record.get("kind") != "auto_rollback"):
            state.record_outcome = str(record["outcome"])

    def _verbose(self, stdout: str) -> list[str]:
        """Ansible's own errors (no host: a syntax error, a missing file, a bad inventory) come as verbose
        events, one output line each: an `[ERROR]` line and the lines after it up to a blank one make
        one progress line."""
        lines = []
        for raw in stdout.splitlines() or [""]:
            text = one_line(raw)
            if ERROR_LINE_RE.match(ANSI_RE.sub("", raw)):
                lines += self.flush_error()
                self._error.append(text)
            elif self._error and text:
                self._error.append(text)
            else:
                lines += self.flush_error()
        return lines

    def flush_error(self) -> list[str]:
        if not self._error:
            return []
        text = one_line(" ".join(self._error))
        self._error = []
        self.errors.append(text)
        return [format_line(self.elapsed(), "-", "ansible", "ERROR", text)]

    # summary -------------------------------------------------------------------------------
    def host_outcomes(self) -> dict[str, dict]:
        """host -> {outcome, code, ok, changed, failed, unreachable, skipped, rescued, failed_gate, failure}.

        The outcome is the box's fleet summary row's, else its closed history record's (the words of
        the BRIEF: success, refused, rolled_back, failed, rollback_failed, interrupted); a box without
        either is `interrupted` (the run was canceled), `unreachable`, `unknown` (changed, then failed or
        stopped without an outcome), `refused` (failed, nothing changed), `stopped` (ansible ended
        without its stats) or `success` (no failure: a playbook without records)."""
        stats = self.stats or {}
        names = set(self.hosts)
        for key in ("ok", "changed", "failures", "dark", "skipped", "rescued", "ignored", "processed"):
            names.update((stats.get(key) or {}).keys())
        result = {}
        for name in sorted(names):
            state = self.host(name)
            counts = {key: int((stats.get(key) or {}).get(name, 0))
                      for key in ("ok", "changed", "failures", "dark", "skipped", "rescued")}
            failed = bool(counts["failures"] or (self.stats is None and state.failed_task))
            if state.row is not None:
                outcome = str(state.row["outcome"])
            elif state.record_outcome:
                outcome = state.record_outcome
            elif self.status == "canceled":
                outcome = "interrupted"
            elif counts["dark"] or state.unreachable:
                outcome = "unreachable"
            elif (counts["changed"] or state.changed) and (failed or self.stats is None):
                outcome = "unknown"
            elif failed:
                outcome = "refused"
            else:
                outcome = "success" if self.stats is not None else "stopped"
            code = host_code(outcome, failed or bool(counts["dark"]))
            gate = ((state.row or {}).get("failed_gate") or state.failed_gate) if code else ""
            result[name] = {
                "outcome": outcome, "code": code, "ok": counts["ok"], "changed": counts["changed"],
                "failed": counts["failures"], "unreachable": counts["dark"], "skipped": counts["skipped"],
                "rescued": counts["rescued"], "failed_gate": str(gate).strip(),
                "failure": state.failure if code else "",
            }
        return result

    def exit_code(self, status: str, rc: int | None) -> int:
        """The run's exit code (hedge_run.exit_codes): the worst box's outcome decides."""
        return exit_code(status, rc, [item["code"] for item in self.host_outcomes().values()])

    def decided_by(self, code: int) -> str:
        """The outcome word the summary gives the run (the worst box's)."""
        outcomes = [item["outcome"] for item in self.host_outcomes().values() if item["code"] == code]
        return outcomes[0] if outcomes else {0: "success", 130: "interrupted"}.get(code, "error")

    def summary_lines(self, title: str, exit_code: int) -> list[str]:
        outcomes = self.host_outcomes()
        lines = [f"hedge_run {title}: {self.decided_by(exit_code)} (exit {exit_code}) in {self.elapsed():.1f}s; "
                 f"{self.event_count} events in {self.events_path}"]
        if not outcomes:
            lines.append("  no host ran a task")
        lines += [f"  error: {one_line(text, 200)}" for text in self.errors]
        for name, item in outcomes.items():
            line = (f"  {name:<9} {item['outcome']:<15} ok={item['ok']} changed={item['changed']} "
                    f"failed={item['failed']} unreachable={item['unreachable']} rescued={item['rescued']} "
                    f"skipped={item['skipped']}")
            if item["failed_gate"]:
                line += f"  failed gate: {item['failed_gate']}"
            elif item["failure"]:
                line += f"  failure: {one_line(item['failure'], 200)}"
            lines.append(line)
        return lines

    # events file ---------------------------------------------------------------------------
    def _write(self, event: dict) -> None:
        if self._events_file is None:
            self.events_path.parent.mkdir(parents=True, exist_ok=True)
            self._events_file = open(self.events_path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self._events_file.write(json.dumps(event, default=str, sort_keys=True) + "\n")
        self._events_file.flush()
        self.event_count += 1

    def close(self) -> None:
        if self._events_file is not None:
            self._events_file.close()
            self._events_file = None

