"""The exit code of a hedge_run: the run's outcome (the words of the history
record, the ops log and the fleet summary), one code per outcome. For a fleet
the worst box decides, in the order of SEVERITY."""
from __future__ import annotations

SUCCESS = 0
ERROR = 1            # the run failed and no box outcome says how (ansible error, unreachable box, incidents gate)
USAGE = 2            # bad arguments: nothing started
REFUSED = 3          # a gate failed before the box was changed: nothing changed
ROLLED_BACK = 4      # changed, a gate failed, the previous release is live again and verified
FAILED = 5           # changed, a gate failed, auto_rollback off: the failing release is left live
ROLLBACK_FAILED = 6  # the rollback failed too, or a changed box has no outcome: unknown state, page someone
INTERRUPTED = 130    # stopped by Ctrl-C / SIGINT

# Outcome word (history record / ops log / fleet summary; `unknown`, `unreachable` and `stopped` are
# hedge_run's words for a box without a record) -> exit code. `untouched`: its batch never started.
OUTCOME_CODES = {
    "success": SUCCESS,
    "untouched": SUCCESS,
    "refused": REFUSED,
    "rolled_back": ROLLED_BACK,
    "failed": FAILED,
    "rollback_failed": ROLLBACK_FAILED,
    "unknown": ROLLBACK_FAILED,
    "unreachable": ERROR,
    "stopped": ERROR,
    "interrupted": INTERRUPTED,
}
# Worst last: which code a fleet exits with when its boxes differ.
SEVERITY = (SUCCESS, REFUSED, ROLLED_BACK, ERROR, FAILED, INTERRUPTED, ROLLBACK_FAILED)


def worst(codes) -> int:
    """The code that decides for several boxes (SUCCESS for none)."""
    return max(codes, key=SEVERITY.index, default=SUCCESS)


def host_code(outcome: str, host_failed: bool) -> int:
    """A box's code: its outcome's; a box recorded `success` whose run still failed afterwards (the
    incidents gate) is ERROR; an outcome word not in the table is ERROR."""
    code = OUTCOME_CODES.get(outcome, ERROR)
    if code == SUCCESS and host_failed:
        return ERROR
    return code


def exit_code(status: str, rc: int | None, host_codes: list[int]) -> int:
    """The run's code from ansible-runner's status and rc and the boxes' codes (see host_code).

    A canceled run is INTERRUPTED unless a box recorded rollback_failed; a run that failed while every
    box reports success (or no box ran) is ERROR; otherwise the worst box decides."""
    decided = worst(host_codes)
    if status == "canceled":
        return worst([decided, INTERRUPTED])
    if decided == SUCCESS and (status != "successful" or rc):
        return ERROR
    return decided
