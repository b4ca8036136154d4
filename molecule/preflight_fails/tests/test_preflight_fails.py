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


def test_box_still_verified_on_v75(host):
    assert boxcheck.checked_out_tag(host) == "v7.5"
    assert boxcheck.engine_version(host) == "v7.5"
    assert boxcheck.healthz(host) == "200"
    assert boxcheck.foreign_state_writes(host) == []
