"""The gate_display stdout callback: a deliberate failure (assert / fail) is printed once, as its result."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ansible_collections.gpt_hedge.activation.plugins.callback.gate_display import (
    ProgressTicker,
    async_poll_line,
    failure_text,
    is_deliberate_failure,
)

REPO = Path(__file__).resolve().parents[4]

GATE_RESULT = {"assertion": "__preflight_release.pretag.rc == 0", "changed": False, "evaluated_to": False,
               "exception": object(), "msg": "GATE preflight.pretag FAILED: make pretag-v7.6 exited 2: 1 failed"}


@pytest.mark.parametrize(
    ("action", "result", "deliberate"),
    [
        ("ansible.builtin.assert", GATE_RESULT, True),
        ("ansible.builtin.fail", {"changed": False, "exception": object(),
                                  "msg": "activation of v7.6 on localbox refused at gate preflight.pretag"}, True),
        ("assert", GATE_RESULT, True),
        # a module's failure or an error keeps ansible-core's [ERROR] line and its origin
        ("gpt_hedge.activation.hedge_history", {"exception": object(), "msg": "cannot write history record"}, False),
        ("ansible.builtin.set_fact", {"exception": object(), "msg": "'box_version' is undefined"}, False),
        # no error to print: nothing to suppress
        ("ansible.builtin.assert", {"changed": False, "msg": "GATE input.box passed: checkout /root/hedge-fund"}, False),
        ("ansible.builtin.fail", {"exception": object(), "msg": ""}, False),
    ],
)
def test_is_deliberate_failure(action, result, deliberate):
    assert is_deliberate_failure(action, result) is deliberate


@pytest.mark.parametrize(
    ("started", "now", "line"),
    [
        (100.0, 125.7, "ASYNC POLL on localbox: Clone the target tag still running, 25 s so far (jid=j1.42)"),
        (100.0, 100.2, "ASYNC POLL on localbox: Clone the target tag still running, 0 s so far (jid=j1.42)"),
        (None, 125.7, "ASYNC POLL on localbox: Clone the target tag still running (jid=j1.42)"),
    ],
)
def test_async_poll_line_says_what_runs_and_for_how_long(started, now, line):
    assert async_poll_line("localbox", "Clone the target tag", "j1.42", started, now) == line


@pytest.mark.parametrize(
    ("msg", "text"),
    [
        ("GATE preflight.checkout FAILED: /root/hedge-fund is not a git checkout with remote 'origin'",
         "fatal: [localbox]: FAILED! =>\n    GATE preflight.checkout FAILED: /root/hedge-fund is not a git checkout "
         "with remote 'origin'"),
        ("GATE preflight.pretag FAILED: make pretag-v7.6 exited 2: 1 failed, 8 passed in 0.18s\n"
         "  failed: tests/test_release.py::test_pretag_fault_switch_off",
         "fatal: [localbox]: FAILED! =>\n    GATE preflight.pretag FAILED: make pretag-v7.6 exited 2: 1 failed, 8 passed "
         "in 0.18s\n      failed: tests/test_release.py::test_pretag_fault_switch_off"),
    ],
)
def test_failure_text_is_the_message_as_written(msg, text):
    assert failure_text("localbox", msg) == text


@pytest.mark.parametrize(
    ("starts", "now", "lines"),
    [
        # nothing is due before `every` seconds have passed
        ([("box1", "Restart the engine", 100.0, False)], 114.9, []),
        ([("box1", "Restart the engine", 100.0, False)], 115.0,
         ["RUNNING on box1: Restart the engine still running, 15 s so far"]),
        # oldest host first; an async task has its poll lines instead
        ([("box2", "Verify", 90.0, False), ("box1", "Restart the engine", 80.0, False),
          ("box3", "Clone the target tag", 70.0, True)], 105.2,
         ["RUNNING on box1: Restart the engine still running, 25 s so far",
          "RUNNING on box2: Verify still running, 15 s so far"]),
    ],
)
def test_progress_lines_due(starts, now, lines):
    ticker = ProgressTicker(15)
    for host, name, started, is_async in starts:
        ticker.start(host, name, started, is_async=is_async)
    assert [line for line, _task in ticker.due(now)] == lines


def test_progress_lines_every_interval_until_the_task_ends():
    ticker = ProgressTicker(15)
    ticker.start("box1", "Verify the running release", 0.0)
    seen = [line for now in range(0, 50) for line, _task in ticker.due(float(now))]
    assert seen == ["RUNNING on box1: Verify the running release still running, %d s so far" % s for s in (15, 30, 45)]
    ticker.done("box1")
    assert ticker.due(61.0) == []
    # a late tick does not print the missed lines one after the other
    ticker.start("box1", "Restart the engine", 100.0)
    assert len(ticker.due(150.0)) == 1 and ticker.due(151.0) == [] and len(ticker.due(165.0)) == 1
    ticker.done()
    assert ticker.due(500.0) == []
    assert ProgressTicker(0).due(1000.0) == []


def test_a_long_task_prints_progress_under_its_banner(tmp_path):
    """Through ansible-playbook with the project's ansible.cfg: a 5 s task prints a line every 2 s under its
    banner, before its result; a quick task prints none."""
    play = tmp_path / "play.yml"
    play.write_text(
        "- name: Progress\n  hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - name: Wait five seconds\n      ansible.builtin.command: sleep 5\n      changed_when: false\n"
        "    - name: Return at once\n      ansible.builtin.command: 'true'\n      changed_when: false\n")
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), GPT_HEDGE_PROGRESS_EVERY="2")
    out = subprocess.run(["ansible-playbook", "-i", "localhost,", "-c", "local", "-e",
                          "ansible_python_interpreter=" + sys.executable, str(play)],
                         env=env, cwd=str(REPO), capture_output=True, text=True, check=True).stdout
    banner = out.index("TASK [Wait five seconds]")
    result = out.index("ok: [localhost]", banner)
    progress = re.findall(r"RUNNING on localhost: Wait five seconds still running, (\d+) s so far", out)
    # One line per 2 s while the task runs (a loaded machine may print one a second late, never early).
    seconds = [int(s) for s in progress]
    assert len(seconds) >= 2 and seconds[0] >= 2, out
    assert all(later - earlier >= 1 for earlier, later in zip(seconds, seconds[1:])), out
    assert all(banner < m.start() < result for m in re.finditer("RUNNING on localhost", out))
    assert "Return at once still running" not in out
