"""activate.yml and rollback.yml with --check and --diff on local boxes: every
read-only gate runs for real, the run says what an activation would change
(commit range, programs), and nothing on the box changes (checkout, refs,
programs, history, lock, logs/state)."""
from __future__ import annotations

import pytest

from boxlib import gate_failure, run_playbook
from test_ci_status import TOKEN, StatusStub, stub_api  # noqa: F401 - stub_api is a fixture

PROGRAMS = "hedge-executor, hedge-dashboard, hedge-sync_state"
# A line of source that differs between v7.5 and v7.6 (config/risk_limits.json):
# it would only be in the output if the whole source diff were printed.
SOURCE_LINE = '"lookback_s": 300'


def folded(text: str) -> str:
    """The output with its whitespace folded (the display wraps long messages)."""
    return " ".join(text.split())


def box_state(box) -> dict:
    """Everything a check run must leave byte for byte as it was."""
    automation = box.prefix / "activation"
    return {
        **box.snapshot(),
        "refs": box.git("for-each-ref", "--format=%(refname) %(objectname)"),
        "automation": {str(p.relative_to(automation)): p.read_bytes()
                       for p in sorted(automation.rglob("*")) if p.is_file()} if automation.exists() else None,
    }


def one_line(box, rev: str) -> str:
    return box.git("log", "--oneline", "--no-decorate", "-1", rev)


def test_check_mode_runs_read_only_gates_and_changes_nothing(fresh_box, tmp_path):
    before = box_state(fresh_box)
    v75, v76 = fresh_box.head(), fresh_box.git("rev-parse", "v7.6^{commit}")

    run = run_playbook(fresh_box, "activate.yml", tmp_path, version="v7.6", cmdline="--check")

    assert run.rc == 0, run.stdout[-3000:]
    out = folded(run.stdout)
    for gate in ("lock", "preflight.supervisor", "preflight.checkout", "preflight.tag_exists",
                 "preflight.version_file", "preflight.docs_version", "preflight.pretag", "preflight.sanity",
                 "deploy.clean_checkout"):
        assert f"GATE {gate} passed" in out, gate
    assert "GATE preflight.ci_status NOT CHECKED" in out
    assert "GATE preflight.supervisor passed: 3 of 3 hedge programs RUNNING" in out
    assert "FAILED" not in out
    # What an activation would change: the checkout's commit range and the programs restarted.
    assert (f"CHANGES deploy.checkout: {fresh_box.checkout} would move from {v75[:12]} (v7.5) "
            f"to v7.6 ({v76[:12]}): 1 commit(s) added, 0 removed, 4 files changed") in out
    assert f"added {one_line(fresh_box, 'v7.6')}" in out
    assert f"CHECK MODE: would restart hedge: {PROGRAMS} (" in out
    assert "verify gates run after the change, not in check mode" in out
    # The post-change gates are not judged on the unchanged box.
    assert "GATE deploy.checkout" not in out and "GATE restart." not in out and "GATE verify." not in out

    assert box_state(fresh_box) == before
    assert before["automation"] is None, "a check run must not create the history dir or the lock"
    assert fresh_box.foreign_state_writes() == []
    assert fresh_box.version_file() == "v7.5"


@pytest.mark.parametrize(
    ("version", "gate", "reason"),
    [
        ("v7.9", "preflight.tag_exists", "tag v7.9 not found"),
        ("v7.7", "preflight.version_file", "expected v7.7"),
    ],
    ids=["missing-tag", "version-mismatch"],
)
def test_check_mode_refusal_names_the_gate_and_changes_nothing(shared_box, tmp_path, version, gate, reason):
    before = box_state(shared_box)

    run = run_playbook(shared_box, "activate.yml", tmp_path, version=version, cmdline="--check")

    assert run.rc != 0
    failure = gate_failure(run.stdout, gate)
    assert failure, run.stdout[-3000:]
    assert reason in failure
    assert "GATE preflight.supervisor passed" in folded(run.stdout)
    assert "CHANGES deploy.checkout" not in run.stdout and "CHECK MODE: would restart" not in run.stdout
    assert box_state(shared_box) == before
    assert shared_box.foreign_state_writes() == []


def test_check_mode_asks_ci_and_refuses_a_red_status(shared_box, stub_api, tmp_path):
    StatusStub.state, StatusStub.sha = "failure", shared_box.git("rev-parse", "v7.6^{commit}")
    StatusStub.requests.clear()
    before = box_state(shared_box)

    run = run_playbook(shared_box, "activate.yml", tmp_path, version="v7.6", cmdline="--check",
                       preflight_ci_repo="acme/hedge-fund", preflight_ci_token=TOKEN, preflight_ci_api_url=stub_api)

    assert run.rc != 0
    assert [path for path, _auth in StatusStub.requests] == ["/repos/acme/hedge-fund/commits/v7.6/status"]
    assert "is failure, expected success" in gate_failure(run.stdout, "preflight.ci_status"), run.stdout[-3000:]
    assert TOKEN not in run.stdout
    assert box_state(shared_box) == before
    assert shared_box.foreign_state_writes() == []


def test_diff_prints_the_commit_range_not_the_source_diff(fresh_box, tmp_path):
    v75 = fresh_box.head()

    run = run_playbook(fresh_box, "activate.yml", tmp_path, version="v7.6", cmdline="--diff")

    assert run.rc == 0, run.stdout[-3000:]
    assert fresh_box.version_file() == "v7.6"
    assert SOURCE_LINE not in run.stdout
    assert "+v7.6" not in run.stdout.split()
    out = folded(run.stdout)
    v76 = fresh_box.head()
    assert (f"CHANGES deploy.checkout: {fresh_box.checkout} moves from {v75[:12]} (v7.5) "
            f"to v7.6 ({v76[:12]}): 1 commit(s) added, 0 removed, 4 files changed, 143 insertions(+), "
            "3 deletions(-)") in out
    assert f"added {one_line(fresh_box, 'v7.6')}" in out


def test_rollback_check_after_activation_names_target_and_changes_nothing(fresh_box, tmp_path):
    activation = run_playbook(fresh_box, "activate.yml", tmp_path, version="v7.6")
    assert activation.rc == 0, activation.stdout[-3000:]
    before = box_state(fresh_box)
    v75, v76 = fresh_box.git("rev-parse", "v7.5^{commit}"), fresh_box.head()

    run = run_playbook(fresh_box, "rollback.yml", tmp_path, cmdline="--check --diff")

    assert run.rc == 0, run.stdout[-3000:]
    out = folded(run.stdout)
    assert "GATE rollback.target passed: v7.5 (live before activation" in out
    for gate in ("lock", "preflight.supervisor", "preflight.tag_exists", "preflight.version_file",
                 "deploy.clean_checkout"):
        assert f"GATE {gate} passed" in out, gate
    assert (f"CHANGES deploy.checkout: {fresh_box.checkout} would move from {v76[:12]} (v7.6) "
            f"to v7.5 ({v75[:12]}): 0 commit(s) added, 1 removed") in out
    assert f"removed {one_line(fresh_box, 'v7.6')}" in out
    assert f"CHECK MODE: would restart hedge: {PROGRAMS} (" in out
    assert SOURCE_LINE not in run.stdout
    assert "FAILED" not in out

    after = box_state(fresh_box)
    assert after == before
    assert len([name for name in after["automation"] if name.startswith("history/")]) == 1
    assert fresh_box.foreign_state_writes() == []
