"""Each fault makes a post-restart gate fail; v7.5 ends live, running, verified."""
import json

import pytest

import boxcheck

HISTORY = "/var/lib/gpt-hedge/activation/history"


def history(host):
    names = host.check_output(f"ls {HISTORY} 2>/dev/null || true").split()
    return sorted((json.loads(host.file(f"{HISTORY}/{n}").content_string) for n in names),
                  key=lambda r: (r["started_at"], r["id"]))


# The faults not run by tests/integration/test_rollback.py (boxlib.MOLECULE_CASES).
@pytest.mark.parametrize(("fault", "gate"), boxcheck.MOLECULE_CASES,
                         ids=[case[0] for case in boxcheck.MOLECULE_CASES])
def test_failed_gate_rolls_back(host, fault, gate):
    host.check_output(f"mkdir -p {boxcheck.FAULTS_DIR} && echo {fault} > {boxcheck.FAULTS_DIR}/v7.6")
    try:
        run = boxcheck.run_playbook("activate.yml", "-e", "version=v7.6", "-e", json.dumps(boxcheck.FAST_GATES))
    finally:
        host.run(f"rm -f {boxcheck.FAULTS_DIR}/v7.6")

    assert run.returncode != 0
    assert boxcheck.gate_failure(run.stdout, gate), run.stdout[-3000:]
    assert "automatic rollback to v7.5: verified" in " ".join(run.stdout.split())
    assert boxcheck.checked_out_tag(host) == "v7.5"
    assert {n: s for n, (s, _p) in boxcheck.programs(host).items()} == {n: "RUNNING" for n in boxcheck.PROGRAMS}
    assert boxcheck.engine_version(host) == "v7.5"
    assert boxcheck.healthz(host) == "200"
    activation, rollback = history(host)[-2:]
    assert (activation["version"], activation["outcome"], activation["failed_gate"]) == ("v7.6", "rolled_back", gate)
    assert (rollback["kind"], rollback["version"], rollback["outcome"]) == ("auto_rollback", "v7.5", "success")


def test_state_dir_written_only_by_the_engine(host):
    assert boxcheck.foreign_state_writes(host) == []
