"""ansible-runner events -> progress lines, a JSON-lines event log and a
per-host summary. Works on the event dicts ansible-runner hands to its
event_handler (never on the stdout text)."""
from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Callable

# The collection's roles, in the order an activation goes through them.
STAGES = ("box", "ledger", "preflight", "deploy_git", "restart", "verify", "rollback", "incidents", "opslog")
# Tasks outside any role (the playbooks' own set_fact / fail tasks).
PLAY_STAGE = "play"

GATE_RE = re.compile(r"GATE (?P<gate>[A-Za-z0-9_.\-]+) (?P<word>passed|FAILED|WARNING|NOT CHECKED)\b")
GATE_STATUS = {"passed": "ok", "FAILED": "FAILED", "WARNING": "warn", "NOT CHECKED": "skip"}
ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
ERROR_LINE_RE = re.compile(r"^\s*(?:\[ERROR\]|ERROR!)")
MAX_MESSAGE = 400

RESULT_EVENTS = {
    "runner_on_ok", "runner_on_failed", "runner_on_unreachable",
    "runner_item_on_ok", "runner_item_on_failed",
}
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

    def __post_init__(self) -> None:
        if not self.started:
            self.started = self.clock()

    # ansible-runner callbacks -------------------------------------------------------------
    def event_handler(self, event: dict) -> bool:
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
            self.out(line)
        return True  # keep ansible-runner's own artifacts/<ident>/job_events

    def _complain(self, text: str) -> None:
        if text not in self.problems:
            self.problems.append(text)
            self.out(f"hedge_run: warning: {one_line(text)}")

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
        if kind not in RESULT_EVENTS:
            return lines
        name = data.get("host") or data.get("remote_addr") or "-"
        state = self.host(name)
        stage = stage_of(data)
        action = data.get("task_action", "")
        if stage is not None and stage != state.stage and action not in INCLUDE_ACTIONS:
            state.stage = stage
            lines.append(format_line(self.elapsed(), name, stage, "start", task_title(data.get("task", ""))))
        label = stage or PLAY_STAGE
        res = data.get("res") or {}
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
        """host -> {outcome, ok, changed, failed, unreachable, skipped, rescued, failed_gate, failure}."""
        stats = self.stats or {}
        names = set(self.hosts)
        for key in ("ok", "changed", "failures", "dark", "skipped", "rescued", "ignored", "processed"):
            names.update((stats.get(key) or {}).keys())
        result = {}
        for name in sorted(names):
            state = self.host(name)
            counts = {key: int((stats.get(key) or {}).get(name, 0))
                      for key in ("ok", "changed", "failures", "dark", "skipped", "rescued")}
            if counts["dark"] or state.unreachable:
                outcome = "unreachable"
            elif counts["failures"] or (self.stats is None and state.failed_task):
                outcome = "failed"
            else:
                outcome = "ok"
            result[name] = {
                "outcome": outcome, "ok": counts["ok"], "changed": counts["changed"],
                "failed": counts["failures"], "unreachable": counts["dark"], "skipped": counts["skipped"],
                "rescued": counts["rescued"], "failed_gate": state.failed_gate if outcome != "ok" else "",
                "failure": state.failure if outcome != "ok" else "",
            }
        return result

    def summary_lines(self, title: str, exit_code: int) -> list[str]:
        outcomes = self.host_outcomes()
        word = "succeeded" if exit_code == 0 else f"FAILED (exit {exit_code})"
        lines = [f"hedge_run {title} {word} in {self.elapsed():.1f}s; "
                 f"{self.event_count} events in {self.events_path}"]
        if not outcomes:
            lines.append("  no host ran a task")
        lines += [f"  error: {one_line(text, 200)}" for text in self.errors]
        for name, item in outcomes.items():
            line = (f"  {name:<9} {item['outcome']:<11} ok={item['ok']} changed={item['changed']} "
                    f"failed={item['failed']} unreachable={item['unreachable']} rescued={item['rescued']} "
                    f"skipped={item['skipped']}")
            if item["failed_gate"]:
                line += f"  failed gate: {item['failed_gate']}"
            elif item["failure"]:
                line += f"  failure: {one_line(item['failure'], 200)}"
            lines.append(line)
        return lines

    def any_host_failed(self) -> bool:
        return any(item["outcome"] != "ok" for item in self.host_outcomes().values())

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


def exit_code(status: str, rc: int | None, host_failed: bool = False) -> int:
    """0 only for a successful run with rc 0 and no failed/unreachable host; a canceled run 130;
    otherwise ansible's rc, at least 1."""
    if status == "canceled":
        return 130
    if status == "successful" and not rc and not host_failed:
        return 0
    return rc if isinstance(rc, int) and rc > 0 else 1
