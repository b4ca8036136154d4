"""Two concurrent activations: exactly one proceeds."""
import os
import subprocess

import boxcheck


def test_two_concurrent_runs_exactly_one_proceeds(host):
    cmd = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "activate.yml", "-e", "version=v7.6"]
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1"}
    procs = [subprocess.Popen(cmd, cwd=boxcheck.ROOT, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(2)]
    outputs = [proc.communicate(timeout=600)[0] for proc in procs]
    codes = [proc.returncode for proc in procs]

    assert sorted(codes) == [0, 2], outputs
    loser = outputs[codes.index(2)]
    assert "is locked by activation v7.6 of" in boxcheck.gate_failure(loser, "lock"), loser[-2000:]
    assert boxcheck.checked_out_tag(host) == "v7.6"
    assert boxcheck.engine_version(host) == "v7.6"
    assert not host.file("/var/lib/gpt-hedge/activation/lock").exists
