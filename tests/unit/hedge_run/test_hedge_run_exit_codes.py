"""hedge_run.exit_codes: one code per outcome, the worst box decides for a fleet."""
from __future__ import annotations

import pytest

from hedge_run import exit_codes
from hedge_run.exit_codes import exit_code, host_code, worst


def test_codes_are_distinct_and_ordered():
    codes = [exit_codes.SUCCESS, exit_codes.ERROR, exit_codes.USAGE, exit_codes.REFUSED, exit_codes.ROLLED_BACK,
             exit_codes.FAILED, exit_codes.ROLLBACK_FAILED, exit_codes.INTERRUPTED]
    assert codes == [0, 1, 2, 3, 4, 5, 6, 130]
    # Usage errors never come out of a run; every other code has its place in the fleet order.
    assert sorted(exit_codes.SEVERITY) == sorted(set(codes) - {exit_codes.USAGE})


@pytest.mark.parametrize(
    ("outcome", "host_failed", "code"),
    [
        ("success", False, 0),
        ("success", True, 1),         # recorded success, then the incidents gate failed the run
        ("untouched", False, 0),      # its batch never started
        ("refused", True, 3),
        ("rolled_back", True, 4),
        ("failed", True, 5),          # auto_rollback=false
        ("rollback_failed", True, 6),
        ("unknown", True, 6),         # changed, then no outcome recorded
        ("unreachable", True, 1),
        ("stopped", False, 1),
        ("interrupted", False, 130),
        ("in_progress", False, 1),    # not an outcome
    ],
)
def test_host_code(outcome, host_failed, code):
    assert host_code(outcome, host_failed) == code


@pytest.mark.parametrize(
    ("codes", "decides"),
    [
        ([], 0),
        ([0, 0], 0),
        ([0, 3], 3),
        ([3, 4, 0], 4),       # a rolled back box outranks a refused one
        ([4, 1], 1),          # an unexplained failure outranks a handled one
        ([1, 5, 4], 5),       # a failing release left live
        ([5, 130], 130),
        ([130, 6, 0], 6),     # the box in an unknown state always decides
    ],
)
def test_worst_box_decides(codes, decides):
    assert worst(codes) == decides


@pytest.mark.parametrize(
    ("status", "rc", "codes", "code"),
    [
        ("successful", 0, [0], 0),
        ("successful", 0, [], 0),
        ("failed", 2, [3], 3),
        ("failed", 2, [4, 0], 4),
        ("failed", 2, [6, 4], 6),
        ("failed", 4, [1], 1),          # unreachable box
        ("failed", 1, [], 1),           # ansible's own error, no box ran
        ("failed", 2, [0], 1),          # every box recorded success but the run failed
        ("successful", 0, [3], 3),      # a refused box whatever the status
        ("timeout", 254, [0], 1),
        ("canceled", 254, [0], 130),
        ("canceled", 254, [130, 3], 130),
        ("canceled", 254, [6], 6),
    ],
)
def test_exit_code(status, rc, codes, code):
    assert exit_code(status, rc, codes) == code
