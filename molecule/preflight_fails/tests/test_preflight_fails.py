"""Each refused activation names its gate; v7.5 stays live, running, untouched."""
import pytest

import boxcheck

CASES = [
    ("v7.9", None, "preflight.tag_exists", "tag v7.9 not found"),
    ("v7.7", None, "preflight.version_file", "has VERSION v7.6, expected v7.7"),
    ("v7.6", "pretag_fail", "preflight.pretag", "make pretag-v7.6 exited"),
    ("v7.6", "dirty", "deploy.clean_checkout", "has local changes"),
]


@pytest.mark.parametrize(("version", "prepare", "gate", "reason"), CASES,
                         ids=["missing-tag", "version-mismatch", "pretag-fails", "dirty-checkout"])
def test_refused_activation(host, version, prepare, gate, reason):
    refuse(host, version, prepare, gate, reason)


def refuse(host, version, prepare, gate, reason):
    """Run a refused activation; assert the gate, its reason and the untouched box; return the run."""
    if prepare == "pretag_fail":
        host.check_output(f"mkdir -p {boxcheck.FAULTS_DIR} && echo pretag_fail > {boxcheck.FAULTS_DIR}/v7.6")
    elif prepare == "dirty":
        host.check_output(f"echo '# local hotfix' >> {boxcheck.CHECKOUT}/hedge/dashboard.py")
    before = boxcheck.snapshot(host)
    try:
        run = boxcheck.run_playbook("activate.yml", "-e", f"version={version}")
        after = boxcheck.snapshot(host)
    finally:
        host.run(f"rm -f {boxcheck.FAULTS_DIR}/v7.6")
        if prepare == "dirty":
            host.check_output(f"git -C {boxcheck.CHECKOUT} checkout -- hedge/dashboard.py")

    assert run.returncode != 0, run.stdout[-2000:]
    failure = boxcheck.gate_failure(run.stdout, gate)
    assert failure, run.stdout[-3000:]
    assert reason in failure
    assert after == before, "a refused run changed the box"
    assert before["version"] == "v7.5"
    assert all(st == "RUNNING" for st, _pid in after["programs"].values())
    return run


# What the operator reads when a run is refused: the gate's reason once, with
# its detail, no raw template text, the outcome with the next step, and reports
# that judge the release that should still be live (v7.5), not the refused one.
TEXT_CASES = [
    ("v7.6", "pretag_fail", "preflight.pretag",
     ["make pretag-v7.6 exited 2: 1 failed", "failed: tests/test_release.py::",
      "first error: AssertionError: simulated preflight failure"],
     "next: run `make pretag-v7.6` in a clone of the tag"),
    ("v7.7", None, "preflight.version_file", ["has VERSION v7.6, expected v7.7"], "next: fix VERSION in v7.7 and re-tag"),
]


@pytest.mark.parametrize(("version", "prepare", "gate", "reasons", "next_step"), TEXT_CASES,
                         ids=["pretag-fails", "version-mismatch"])
def test_operator_facing_text_of_a_refusal(host, version, prepare, gate, reasons, next_step):
    run = refuse(host, version, prepare, gate, reasons[0])
    out = run.stdout
    assert out.count(f"GATE {gate} FAILED") == 1, out[-4000:]
    assert "{{" not in out
    folded = " ".join(out.split())
    for reason in reasons:
        assert reason in folded, out[-4000:]
    assert f"activation of {version} on hedge-box-preflight_fails refused at gate {gate}: nothing was changed" \
        in folded, out[-3000:]
    assert next_step in folded
    assert "All checks passed" not in out
    assert "[FAIL] system_health" not in out
    assert f"activation of {version} refused at {gate}; v7.5 still live and healthy" in folded, out[-4000:]


def test_box_still_verified_on_v75(host):
    assert boxcheck.checked_out_tag(host) == "v7.5"
    assert boxcheck.engine_version(host) == "v7.5"
    assert boxcheck.healthz(host) == "200"
    assert boxcheck.foreign_state_writes(host) == []
