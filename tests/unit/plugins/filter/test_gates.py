"""The gate-message filters used by the rescue sections."""
import pytest

from ansible_collections.gpt_hedge.activation.plugins.filter.gates import (
    failed_gate, failure_summary, gate_failure, gate_message, gate_next, one_line, pytest_failure)


@pytest.mark.parametrize(
    ("message", "default", "expected"),
    [
        ("GATE verify.engine_version FAILED: engine_metadata reports v7.4, expected v7.6", "x", "verify.engine_version"),
        ("Task failed: Action failed: GATE restart.programs_running FAILED:\n  not RUNNING: hedge-executor", "x",
         "restart.programs_running"),
        ("GATE preflight.ci_status passed: 1a2b3c is success", "Run make", "Run make"),
        ("Provided path to supervisorctl does not exist", "Restart the group", "Restart the group"),
        ("", "unknown", "unknown"),
        (None, "unknown", "unknown"),
    ],
)
def test_failed_gate(message, default, expected):
    assert failed_gate(message, default) == expected


def test_failed_gate_takes_the_first_gate():
    message = "GATE verify.boot_line FAILED: no boot line -- rollback: GATE verify.sanity FAILED: exit 1"
    assert failed_gate(message) == "verify.boot_line"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  GATE lock FAILED:\n   box is locked\tby bob  ", "GATE lock FAILED: box is locked by bob"),
        ("already one line", "already one line"),
        (None, ""),
        (42, "42"),
    ],
)
def test_one_line(text, expected):
    assert one_line(text) == expected


# The last lines of `make pretag-v7.6` when the engine's pytest suite fails (tests/box/engine).
PRETAG_STDOUT = [
    "pretag-v7.6: VERSION ok, running tests",
    "python -m pytest -q tests",
    "..F......                                                                [100%]",
    "=================================== FAILURES ===================================",
    "_________________________ test_pretag_fault_switch_off _________________________",
    "    def test_pretag_fault_switch_off(version):",
    ">       assert \"pretag_fail\" not in simfaults.active_faults(version), \\",
    "E       AssertionError: simulated preflight failure (fault pretag_fail active for v7.6)",
    "E       assert 'pretag_fail' not in {'pretag_fail'}",
    "tests/test_release.py:22: AssertionError",
    "=========================== short test summary info ============================",
    "FAILED tests/test_release.py::test_pretag_fault_switch_off - AssertionError: ...",
    "1 failed, 8 passed in 0.19s",
]


@pytest.mark.parametrize(
    ("facts", "summary", "detail"),
    [
        ({"stdout_tail": PRETAG_STDOUT, "stderr_tail": ["make: *** [Makefile:12: pretag-v7.6] Error 1"],
          "last_line": "make: *** [Makefile:12: pretag-v7.6] Error 1"},
         "1 failed, 8 passed in 0.19s",
         ["failed: tests/test_release.py::test_pretag_fault_switch_off",
          "first error: AssertionError: simulated preflight failure (fault pretag_fail active for v7.6)"]),
        # an error at collection, with the counts line framed by '='
        ({"stdout_tail": ["E   ModuleNotFoundError: No module named 'hedge'",
                          "ERROR tests/test_state_contract.py", "=== 1 error in 0.05s ==="], "stderr_tail": []},
         "1 error in 0.05s",
         ["failed: tests/test_state_contract.py", "first error: ModuleNotFoundError: No module named 'hedge'"]),
        # not a pytest run: make's own refusal is the reason
        ({"stdout_tail": [], "stderr_tail": ["pretag-v7.6: VERSION file says 'v7.5', expected 'v7.6' -- refusing"],
          "last_line": "pretag-v7.6: VERSION file says 'v7.5', expected 'v7.6' -- refusing"},
         "pretag-v7.6: VERSION file says 'v7.5', expected 'v7.6' -- refusing", []),
        (None, "", []),
    ],
)
def test_pytest_failure(facts, summary, detail):
    assert pytest_failure(facts) == {"summary": summary, "detail": detail}


def test_pytest_failure_is_bounded():
    many = ["FAILED tests/test_%d.py::test_case_%d - AssertionError" % (i, i) for i in range(30)]
    detail = pytest_failure({"stdout_tail": many + ["30 failed in 1.00s"]})["detail"]
    assert len(detail) <= 10 and sum(len(line) for line in detail) <= 1000
    assert detail[8] == "... and 22 more failed tests"


def test_gate_message_reads_back_as_the_failure():
    reason = "GATE preflight.pretag FAILED: make pretag-v7.6 exited 2: 1 failed, 8 passed in 0.19s"
    detail = ["failed: tests/test_release.py::test_pretag_fault_switch_off", "first error: AssertionError: x"]
    message = gate_message(reason, detail)
    assert message.splitlines() == [reason] + ["  " + line for line in detail]
    assert gate_failure(message, "Gate preflight.pretag") == {
        "failed_gate": "preflight.pretag", "reason": reason, "detail": detail}


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("GATE preflight.tag_exists FAILED: tag v7.9 not found on file:///box/origin.git",
         {"failed_gate": "preflight.tag_exists", "reason": "GATE preflight.tag_exists FAILED: tag v7.9 not found on "
          "file:///box/origin.git", "detail": []}),
        # a folded (>-) message that wrapped: one line
        ("GATE lock FAILED: localbox is locked by activation\n  v7.6 of bob", {"failed_gate": "lock",
         "reason": "GATE lock FAILED: localbox is locked by activation", "detail": ["v7.6 of bob"]}),
        ("cannot write history record in /x: [Errno 28] No space left on device",
         {"failed_gate": "Open this run's history record",
          "reason": "cannot write history record in /x: [Errno 28] No space left on device", "detail": []}),
        (None, {"failed_gate": "Open this run's history record", "reason": "", "detail": []}),
        # sudo refused before the first task on the box ran (ansible-core's become messages): GATE access
        ("Task failed: Incorrect sudo password", {"failed_gate": "access", "reason": "GATE access FAILED: sudo on "
         "the box refused: Incorrect sudo password", "detail": []}),
        ("Task failed: Missing sudo password", {"failed_gate": "access", "reason": "GATE access FAILED: sudo on "
         "the box refused: Missing sudo password", "detail": []}),
        ("Timeout (12s) waiting for privilege escalation prompt: ", {"failed_gate": "access", "reason": "GATE access "
         "FAILED: sudo on the box refused: Timeout (12s) waiting for privilege escalation prompt:", "detail": []}),
    ],
)
def test_gate_failure(message, expected):
    assert gate_failure(message, "Open this run's history record") == expected


@pytest.mark.parametrize(
    ("gate", "outcome", "values", "expected"),
    [
        ("preflight.pretag", "refused", {"version": "v7.6"},
         "run `make pretag-v7.6` in a clone of the tag with the box's venv; fix or re-tag"),
        ("input.deploy_method", "refused", {}, "fix the value named above (inventory or -e) and run again; nothing was changed"),
        ("verify.engine_version", "rolled_back",
         {"version": "v7.6", "previous": "v7.5", "log": "/var/log/hedge-executor.err.log"},
         "v7.5 is live and verified; inspect /var/log/hedge-executor.err.log and the ops log for why "
         "verify.engine_version failed on v7.6"),
        ("restart.programs_running", "failed", {"version": "v7.6", "log": ""},
         "v7.6 is left in place for inspection (auto_rollback off): inspect the executor log, "
         "then ansible-playbook rollback.yml"),
        ("something.new", "refused", {}, "inspect the output above, the executor log and the ops log; then run again"),
    ],
)
def test_gate_next(gate, outcome, values, expected):
    assert gate_next(gate, outcome, **values) == expected


@pytest.mark.parametrize(
    ("outcome", "first_line"),
    [
        ("refused", "activation of v7.6 on localbox refused at gate preflight.pretag: nothing was changed"),
        ("rolled_back", "activation of v7.6 on localbox rolled back after gate preflight.pretag: v7.5 restored and verified"),
        ("failed", "activation of v7.6 on localbox failed at gate preflight.pretag: automatic rollback is off, "
         "v7.6 left in place"),
    ],
)
def test_failure_summary(outcome, first_line):
    failure = {"failed_gate": "preflight.pretag", "reason": "GATE preflight.pretag FAILED: ...", "next": "do this"}
    text = failure_summary(failure, "activation", outcome, "v7.6", "v7.5", "localbox")
    assert text.splitlines() == [first_line, "next: do this"]
    assert "GATE preflight.pretag FAILED" not in text  # the gate's own task printed the reason
