"""A real OpenSSH server on the loopback, accounts as on a real box, and an SSH
inventory for a simulated box (tests/integration/test_ssh.py).

The accounts (created once per machine, idempotently, under a file lock so
pytest-xdist workers do not race):

    hedge        the service account: owns the checkout, venv and logs; supervisord
                 runs the engine's programs as it
    hedgeop      the operator: SSH key login, sudo to root and hedge without a password
    hedgepw      an operator whose sudo asks for a password (PASSWORD below)
    hedgenosudo  an operator without any sudo rights

The sudoers lines are the ones docs/real-box.md documents. Each test gets its
own sshd (`/usr/sbin/sshd -D` on 127.0.0.1, a free port, its own host key and
config) whose host key the test writes into a known_hosts file: host key
checking stays on (ansible.cfg)."""
from __future__ import annotations

import fcntl
import os
import pwd
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from boxlib import REPO, SSHD_PORTS, Box, free_port

SERVICE_USER = "hedge"
OPERATOR = "hedgeop"
PASSWORD_OPERATOR = "hedgepw"
NOSUDO_OPERATOR = "hedgenosudo"
# A test password, not a secret: it must still never reach any output or record.
PASSWORD = "Pw-for-sudo-7f3a9c"
SSHD = "/usr/sbin/sshd"
SUDOERS = Path("/etc/sudoers.d/gpt-hedge-activation-tests")
# docs/real-box.md shows the same lines for the operator of a real box.
SUDOERS_TEXT = f"""# gpt_hedge.activation tests (tests/integration/sshlib.py): operators of the simulated boxes.
# Ansible's become runs the module's Python through /bin/sh as the target user, so the
# rights are limited by target user (root for supervisorctl and the automation's own
# directory, {SERVICE_USER} for the checkout), not by command.
Defaults:{OPERATOR},{PASSWORD_OPERATOR} !requiretty
{OPERATOR} ALL=(root,{SERVICE_USER}) NOPASSWD: ALL
{PASSWORD_OPERATOR} ALL=(root,{SERVICE_USER}) ALL
"""
LOCK = Path("/tmp/gpt-hedge-test-accounts.lock")


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def ensure_accounts() -> None:
    """Create the service account, the operators and the sudoers file when missing."""
    missing = [tool for tool in (SSHD, "/usr/bin/sudo", "/usr/bin/setfacl") if not os.path.exists(tool)]
    if missing:
        raise RuntimeError(f"{', '.join(missing)} missing: scripts/test.sh installs openssh-server, sudo and acl")
    with open(LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _user_exists(SERVICE_USER):
            subprocess.run(["useradd", "--system", "--create-home", "--shell", "/usr/sbin/nologin", SERVICE_USER],
                           check=True)
        for user in (OPERATOR, PASSWORD_OPERATOR, NOSUDO_OPERATOR):
            if not _user_exists(user):
                subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", user], check=True)
        # Key login only ('*': no password, yet not locked: sshd refuses locked accounts).
        for user in (OPERATOR, NOSUDO_OPERATOR):
            subprocess.run(["usermod", "-p", "*", user], check=True)
        subprocess.run(["chpasswd"], input=f"{PASSWORD_OPERATOR}:{PASSWORD}\n", text=True, check=True)
        if not SUDOERS.exists() or SUDOERS.read_text() != SUDOERS_TEXT:
            tmp = SUDOERS.with_suffix(".new")
            tmp.write_text(SUDOERS_TEXT)
            tmp.chmod(0o440)
            subprocess.run(["visudo", "-cqf", str(tmp)], check=True)
            tmp.rename(SUDOERS)


def open_path_for(path: Path, top: Path) -> None:
    """Let other accounts traverse the directories from `top` down to `path` (pytest makes them 0700)."""
    path = path.resolve()
    for directory in [path, *path.parents]:
        directory.chmod(directory.stat().st_mode | 0o711)
        if directory == top.resolve() or directory == Path("/"):
            break


@dataclass
class SshServer:
    """One sshd on 127.0.0.1:port; `known_hosts` holds its host key, `key` the client key."""

    port: int
    proc: subprocess.Popen
    known_hosts: Path
    key: Path
    log: Path

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _banner(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
            return conn.recv(64).startswith(b"SSH-2.0-")
    except OSError:
        return False


def start_sshd(directory: Path) -> SshServer:
    """sshd with its own host key, key login for the test operators, on a free loopback port."""
    directory.mkdir(parents=True, exist_ok=True)
    host_key, key = directory / "ssh_host_ed25519_key", directory / "id_ed25519"
    for path, comment in ((host_key, "sshbox host key"), (key, "operator key")):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)], check=True)
    keys_dir = directory / "authorized_keys"
    keys_dir.mkdir()
    for user in (OPERATOR, PASSWORD_OPERATOR, NOSUDO_OPERATOR):
        (keys_dir / user).write_text((directory / "id_ed25519.pub").read_text())
        (keys_dir / user).chmod(0o644)
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation directory
    port = free_port(*SSHD_PORTS)
    config = directory / "sshd_config"
    config.write_text(f"""ListenAddress 127.0.0.1
Port {port}
HostKey {host_key}
PidFile none
AuthorizedKeysFile {keys_dir}/%u
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
UsePAM no
# The key files live under /tmp (world-writable), which StrictModes refuses; they are root's, 0644.
StrictModes no
AllowUsers {OPERATOR} {PASSWORD_OPERATOR} {NOSUDO_OPERATOR}
LogLevel VERBOSE
Subsystem sftp internal-sftp
""")
    open_path_for(keys_dir, directory.parent)
    subprocess.run([SSHD, "-t", "-f", str(config)], check=True)
    log = directory / "sshd.log"
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=open(log, "w"),  # noqa: SIM115
                            stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while not _banner(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"sshd did not answer on 127.0.0.1:{port}: {log.read_text()[-2000:]}")
        time.sleep(0.1)
    known_hosts = directory / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{port} {(directory / 'ssh_host_ed25519_key.pub').read_text()}")
    return SshServer(port=port, proc=proc, known_hosts=known_hosts, key=key, log=log)


def ssh_inventory(box: Box, server: SshServer, path: Path, *, user: str = OPERATOR, port: int | None = None,
                  known_hosts: Path | None = None, **extra) -> Path:
    """An inventory for `box` reached over SSH as `user` with become, from the documented
    example (inventories/example/): its group vars, with this box's paths and programs."""
    example = yaml.safe_load((REPO / "inventories" / "example" / "group_vars" / "hedge_boxes.yml").read_text())
    info = box.info
    host = {
        "ansible_host": "127.0.0.1",
        "ansible_port": port or server.port,
        "ansible_user": user,
        "ansible_ssh_private_key_file": str(server.key),
        "ansible_ssh_common_args": f"-o UserKnownHostsFile={known_hosts or server.known_hosts}"
                                   " -o GlobalKnownHostsFile=/dev/null",
        "box_checkout": info["checkout"],
        "box_executor_out_log": info["executor_out_log"],
        "box_executor_err_log": info["executor_err_log"] or "",
        "box_supervisorctl_path": info["supervisorctl"],
        "box_supervisor_config": info["supervisor_conf"],
        "box_programs": info["program_names"],
        "box_dashboard_port": info["port"],
        "box_automation_dir": str(box.prefix / "activation"),
        "preflight_workdir": str(box.prefix / "preflight"),
        **extra,
    }
    inventory = {"hedge_boxes": {"hosts": {"sshbox": host}, "vars": example}}
    path.write_text(yaml.safe_dump(inventory, sort_keys=False))
    return path


def files_owned_by_root(top: Path) -> list[str]:
    """Paths under `top` (not following symlinks) that root owns."""
    found = []
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            if os.lstat(path).st_uid == 0:
                found.append(path)
    return found


def process_owner(pid: str) -> str:
    return pwd.getpwuid(os.stat(f"/proc/{pid}").st_uid).pw_name
