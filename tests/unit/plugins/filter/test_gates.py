"""The gate-message filters used by the rescue sections."""
import pytest

from ansible_collections.gpt_hedge.activation.plugins.filter.gates import failed_gate, one_line


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
