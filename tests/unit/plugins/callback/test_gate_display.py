"""The gate_display stdout callback: a deliberate failure (assert / fail) is printed once, as its result."""
import pytest

from ansible_collections.gpt_hedge.activation.plugins.callback.gate_display import (
    async_poll_line,
    failure_text,
    is_deliberate_failure,
)

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
