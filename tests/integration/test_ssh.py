"""Activation and rollback over SSH with sudo, as the runbook's operators reach a box:
a real sshd on the loopback (host key checking on), a login user that is not root,
become, and a checkout that belongs to the service account `hedge`, whose programs
supervisord runs as `hedge` (tests/integration/sshlib.py sets this up)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from boxlib import FAST_GATES, REPO, install_box, stop_box
from sshlib import (NOSUDO_OPERATOR, PASSWORD, PASSWORD_OPERATOR, SERVICE_USER, ensure_accounts,
                    files_owned_by_root, open_path_for, process_owner, ssh_inventory, start_sshd)

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="needs Linux accounts and sshd")


@pytest.fixture
def ssh_box(tmp_path):
    """A v7.5 box owned by `hedge` behind its own sshd; yields (box, server)."""
    ensure_accounts()
    prefix = tmp_path / "box"
    prefix.mkdir()
    open_path_for(prefix, Path("/tmp"))
    box = install_box(prefix, "--supervisor-bin", str(Path(sys.executable).parent),
                      "--service-user", SERVICE_USER, "--python", "/usr/bin/python3")
    server = start_sshd(tmp_path / "sshd")
    yield box, server
    server.stop()
    stop_box(box)


def playbook(tmp_path: Path, inventory: Path, name: str, *args: str):
    """ansible-playbook `name` from the repo root with the project's ansible.cfg."""
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": "/root",
           "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
           "HEDGE_OPSLOG_DIR": str(tmp_path / "opslog"), "HEDGE_REPORT_DIR": str(tmp_path / "reports")}
    proc = subprocess.run(["ansible-playbook", "-i", str(inventory), name, *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)
    runs = len(list(tmp_path.glob("ansible-playbook-*.log")))
    (tmp_path / f"ansible-playbook-{runs}.log").write_text(proc.stdout + proc.stderr)
    return proc


def passed_gates(output: str) -> list[str]:
    return [line.split("GATE ", 1)[1].split(" passed", 1)[0]
            for line in output.splitlines() if "GATE " in line and " passed" in line]


def test_activate_and_rollback_over_ssh_with_become(ssh_box, tmp_path):
    """hedgeop logs in with its key, sudo without a password: every gate passes, the checkout
    stays hedge's, the programs run as hedge, rollback.yml returns to v7.5, logs/state untouched."""
    box, server = ssh_box
    inventory = ssh_inventory(box, server, tmp_path / "hosts.yml", **FAST_GATES)
    v75 = box.head()
    proc = playbook(tmp_path, inventory, "activate.yml", "-e", "version=v7.6")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-5000:]
    for gate in ("lock", "preflight.supervisor", "preflight.pretag", "deploy.checkout",
                 "restart.programs_running", "verify.engine_version", "verify.sanity"):
        assert gate in passed_gates(out), (gate, out[-4000:])
    assert box.version_file() == "v7.6"
    assert engine_version(box) == "v7.6"
    status = box.status()
    assert all(state == "RUNNING" for state, _ in status.values()), status
    assert {process_owner(pid) for _, pid in status.values()} == {SERVICE_USER}
    assert files_owned_by_root(box.checkout) == []
    # The automation's own records are root's, outside the checkout.
    assert box.history()[-1]["outcome"] == "success"
    # Pipelining (ansible.cfg): module runs are commands fed on stdin, not files copied to the box; only
    # the async preflight job (which Ansible cannot pipeline) is copied, over sftp.
    sessions = server.log.read_text()
    commands, copies = sessions.count("Starting session: command"), sessions.count("Starting session: subsystem 'sftp'")
    assert commands >= 10 and copies <= 3, (commands, copies)

    back = playbook(tmp_path, inventory, "rollback.yml")
    out = back.stdout + back.stderr
    assert back.returncode == 0, out[-5000:]
    assert box.head() == v75 and box.version_file() == "v7.5"
    assert engine_version(box) == "v7.5"
    assert files_owned_by_root(box.checkout) == []
    assert box.foreign_state_writes() == []
    assert box.history()[-1]["kind"] == "rollback" and box.history()[-1]["outcome"] == "success"


def test_preflight_with_a_sudo_password_never_prints_it(ssh_box, tmp_path):
    """hedgepw's sudo asks for a password, given as ansible_become_password: the gates that
    need root (supervisorctl) and hedge (the scratch clone, make pretag) pass; the password
    is in no output or file the run wrote."""
    box, server = ssh_box
    inventory = ssh_inventory(box, server, tmp_path / "hosts.yml", user=PASSWORD_OPERATOR)
    secrets = tmp_path / "become.json"
    secrets.write_text(json.dumps({"ansible_become_password": PASSWORD}))
    before = box.snapshot()
    proc = playbook(tmp_path, inventory, "playbooks/preflight.yml", "-e", "version=v7.6", "-e", f"@{secrets}")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-5000:]
    assert {"preflight.supervisor", "preflight.pretag"} <= set(passed_gates(out)), out[-4000:]
    assert PASSWORD not in out
    secrets.unlink()
    for path in tmp_path.rglob("*"):
        if path.is_file() and "sshd" not in path.parts:
            assert PASSWORD not in path.read_text(errors="replace"), path
    assert box.snapshot() == before


@pytest.mark.parametrize("case", ["wrong_password", "no_sudo", "unknown_host_key", "closed_port"])
def test_access_failures_say_why_once_and_change_nothing(ssh_box, tmp_path, case):
    """A wrong become password, a login without sudo rights, an unknown host key and a closed
    port each stop the run before anything changes, with a one-line reason."""
    box, server = ssh_box
    extra: dict = {}
    args: list[str] = []
    if case == "wrong_password":
        extra["user"] = PASSWORD_OPERATOR
        (tmp_path / "become.json").write_text(json.dumps({"ansible_become_password": "not-" + PASSWORD}))
        args = ["-e", f"@{tmp_path / 'become.json'}"]
    elif case == "no_sudo":
        extra["user"] = NOSUDO_OPERATOR
    elif case == "unknown_host_key":
        empty = tmp_path / "empty_known_hosts"
        empty.write_text("")
        extra["known_hosts"] = empty
    else:
        server.stop()
    inventory = ssh_inventory(box, server, tmp_path / "hosts.yml", **extra)
    before = box.snapshot()
    proc = playbook(tmp_path, inventory, "activate.yml", "-e", "version=v7.6", *args)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-4000:]
    expected = {"wrong_password": "Incorrect sudo password", "no_sudo": "Missing sudo password",
                "unknown_host_key": "Host key verification failed", "closed_port": "Connection refused"}[case]
    # The fleet summary (JSON and table) names the access gate and ansible's cause, in one line.
    (summary_file,) = (tmp_path / "reports").glob("fleet-summary-*.json")
    (row,) = json.loads(summary_file.read_text())["rows"]
    assert row["failed_gate"] == "access", row
    assert row["reason"].startswith("GATE access FAILED: ") and expected in row["reason"], row
    assert "\n" not in row["reason"] and "sudo rights" in row["next"], row
    assert row["outcome"] == ("refused" if case in ("wrong_password", "no_sudo") else "unreachable"), row
    assert "gate access" in out.split("FLEET SUMMARY", 1)[1], out[-2000:]
    assert expected in out, out[-3000:]
    if case in ("wrong_password", "no_sudo"):
        assert "refused at gate access: nothing was changed" in out, out[-3000:]
    assert box.snapshot() == before
    assert box.history() == []
    assert "not-" + PASSWORD not in out


@pytest.mark.parametrize("runner", ["hedge_run", "ansible-runner"])
def test_awx_private_data_dir_with_an_ssh_key(ssh_box, tmp_path, runner):
    """As AWX passes a machine credential: the key in env/ssh_key (ansible-runner loads it into an
    ssh-agent, from a copy it deletes), an inventory without a key file; `python -m hedge_run` and plain
    `ansible-runner run` both reach the box over SSH with become and run the incident check."""
    box, server = ssh_box
    private = tmp_path / "awx"
    (private / "env").mkdir(parents=True)
    (private / "project").symlink_to(REPO)
    (private / "inventory").mkdir()
    hosts = ssh_inventory(box, server, private / "inventory" / "hosts.yml")
    inventory = yaml.safe_load(hosts.read_text())
    del inventory["hedge_boxes"]["hosts"]["sshbox"]["ansible_ssh_private_key_file"]
    hosts.write_text(yaml.safe_dump(inventory))
    (private / "env" / "ssh_key").write_text(server.key.read_text())
    (private / "env" / "ssh_key").chmod(0o600)
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": "/root", "ANSIBLE_NOCOLOR": "1",
           "HEDGE_OPSLOG_DIR": str(tmp_path / "opslog"), "HEDGE_REPORT_DIR": str(tmp_path / "reports")}
    command = ([sys.executable, "-m", "hedge_run", "incident_check", "--private-data-dir", str(private)]
               if runner == "hedge_run" else
               [str(Path(sys.executable).parent / "ansible-runner"), "run", str(private), "-p",
                "playbooks/incident_check.yml", "--ident", "awx"])
    proc = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    (tmp_path / "runner.out").write_text(proc.stdout + proc.stderr)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    (stdout,) = (private / "artifacts").glob("*/stdout")
    text = " ".join(stdout.read_text().split())
    assert "=== Incident check on sshbox: no incidents" in text, text[-3000:]
    assert "[ok] system_health: engine v7.5" in text, text[-3000:]
    # The key went through an ssh-agent (the inventory names no key file), and no copy is left behind.
    (command_file,) = (private / "artifacts").glob("*/command")
    assert json.loads(command_file.read_text())["command"][:2] == ["ssh-agent", "sh"]
    assert not list((private / "artifacts").glob("*/ssh_key_data"))


def engine_version(box) -> str:
    meta = box.engine_metadata()
    return meta.get("engine_version", meta.get("version"))
