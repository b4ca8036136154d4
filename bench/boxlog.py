"""Moments of a restart read from a simulated box's own logs, for bench/bench.py.

supervisord's log (`supervisord_log` in box.json) has a line, with milliseconds
and in local time, for each of a program's transitions:

    2026-12-03 15:39:06,808 INFO waiting for hedge-executor to stop     <- stop signal sent
    2026-12-03 15:39:06,866 INFO stopped: hedge-executor (exit status 0)
    2026-12-03 15:39:07,879 INFO spawned: 'hedge-executor' with pid 23871
    2026-12-03 15:39:10,344 INFO success: hedge-executor entered RUNNING state, ...

(supervisord logs `waiting for X to stop` on its first loop after a stop
request, then every 2 s while the program stops). The executor's stdout log
has a line per state publish, stamped with the moment it was written (UTC):

    state_publish ok surfaces=11 ts=2026-12-03T15:39:08.135Z

These are the box's clocks, whatever the activation's tasks or modules do, so
an activation and a bare `supervisorctl restart` are measured the same way.
"""
from __future__ import annotations

import calendar
import re
import time
from pathlib import Path

_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) [A-Z]+ (.*)$")
_EVENTS = (
    ("stopping", re.compile(r"^waiting for (\S+) to stop$")),
    ("stopped", re.compile(r"^stopped: (\S+) \(")),
    ("spawned", re.compile(r"^spawned: '([^']+)' with pid")),
    ("running", re.compile(r"^success: (\S+) entered RUNNING state")),
)
_PUBLISH = re.compile(r"^state_publish ok .*\bts=(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)Z\b")


def supervisord_events(text: str) -> list[tuple[float, str, str]]:
    """(epoch, kind, program) for each stopping/stopped/spawned/running line, in log order."""
    events = []
    for line in text.splitlines():
        match = _LINE.match(line)
        if not match:
            continue
        for kind, pattern in _EVENTS:
            found = pattern.match(match.group(3))
            if found:
                stamp = time.mktime(time.strptime(match.group(1), "%Y-%m-%d %H:%M:%S")) + int(match.group(2)) / 1000
                events.append((stamp, kind, found.group(1)))
                break
    return events


def publishes(text: str) -> list[float]:
    """Epochs of the executor's `state_publish ok` lines."""
    stamps = []
    for line in text.splitlines():
        match = _PUBLISH.match(line)
        if match:
            whole, _dot, frac = match.group(1).partition(".")
            stamps.append(calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S")) + float("0." + (frac or "0")))
    return stamps


def first(events: list[tuple[float, str, str]], kind: str, program: str, after: float) -> float | None:
    """The first `kind` event of `program` at or after `after`."""
    return next((t for t, k, p in events if k == kind and p == program and t >= after), None)


def all_running(events: list[tuple[float, str, str]], programs: list[str], after: float) -> float | None:
    """When the last of `programs` entered RUNNING after `after` (None unless every one did)."""
    moments = [first(events, "running", program, after) for program in programs]
    return None if None in moments else max(moments)


def downtime(events: list[tuple[float, str, str]], stamps: list[float], executor: str, after: float) -> float | None:
    """From the executor's first stop signal at or after `after` to the next state publish."""
    stop = first(events, "stopping", executor, after)
    if stop is None:
        return None
    publish = next((t for t in stamps if t > stop), None)
    return None if publish is None else publish - stop


class BoxLogs:
    """The logs of one installed box (its box.json)."""

    def __init__(self, box: dict):
        self.executor = box["programs"]["executor"]
        self.programs = list(box["program_names"])
        self._supervisord = Path(box["supervisord_log"])
        self._out = Path(box["executor_out_log"])

    def events(self) -> list[tuple[float, str, str]]:
        return supervisord_events(self._supervisord.read_text(errors="replace"))

    def publishes(self) -> list[float]:
        return publishes(self._out.read_text(errors="replace"))

    def downtime(self, after: float) -> float | None:
        return downtime(self.events(), self.publishes(), self.executor, after)

    def stop_signal(self, after: float) -> float | None:
        return first(self.events(), "stopping", self.executor, after)

    def all_running(self, after: float) -> float | None:
        return all_running(self.events(), self.programs, after)
