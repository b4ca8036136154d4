"""Helpers for integration tests: simulated boxes on the controller (tests/box)
and an ansible-runner wrapper that runs the project's playbooks against them."""
from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import ansible_runner

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "collections"))

# The collection's own timestamp parser (every form of the contract).
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_time import parse_timestamp  # noqa: E402,F401
INSTALL_BOX = REPO / "tests" / "box" / "install_box.py"
STATEFILES = REPO / "tests" / "box" / "engine" / "hedge" / "statefiles.py"


# Ports of the tests' sshd servers (tests/integration/sshlib.py): below the kernel's ephemeral range
# (net.ipv4.ip_local_port_range, 32768-60999 on Debian), which free_port() draws the boxes' dashboard
# ports from, so that an sshd never takes a port just handed to a box, nor a box an sshd's.
SSHD_PORTS = (20000, 29999)


def free_port(first: int | None = None, last: int | None = None) -> int:
    """A free port on 127.0.0.1: one the kernel picks, or a random one from first..last."""
    if first is None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]
    for _ in range(200):
        port = random.randint(first, last)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {first}-{last}")


@dataclass
class Box:
    """A simulated runtime box installed under a prefix (tests/box)."""

    prefix: Path
    port: int
    info: dict = field(default_factory=dict)

    @property
    def checkout(self) -> Path:
        return Path(self.info["checkout"])

    @property
    def state_dir(self) -> Path:
        return Path(self.info["state_dir"])

    @property
    def history_dir(self) -> Path:
        return self.prefix / "activation" / "history"

    @property
    def lock_path(self) -> Path:
        return self.prefix / "activation" / "lock"

    def history(self) -> list[dict]:
        return read_history(self.history_dir)

    def git(self, *args: str) -> str:
        return subprocess.run(
            # The test reads a checkout that may belong to the box's service account.
            ["git", "-c", "safe.directory=*", "-C", str(self.checkout), *args],
            check=True, capture_output=True, text=True,
        ).stdout.strip()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    def version_file(self) -> str:
        return (self.checkout / "VERSION").read_text().strip()

    def status(self) -> dict[str, tuple[str, str]]:
        """program -> (state, pid) from supervisorctl status."""
        out = subprocess.run(
            [self.info["supervisorctl"], "-c", self.info["supervisor_conf"], "status"],
            capture_output=True, text=True,
        ).stdout
        result = {}
        for line in out.splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0].startswith(self.info["group"] + ":"):
                pid = parts[3].rstrip(",") if len(parts) > 3 and parts[2] == "pid" else ""
                result[parts[0].split(":", 1)[1]] = (parts[1], pid)
        return result

    def engine_metadata(self) -> dict:
        return json.loads((self.state_dir / "engine_metadata.json").read_text())

    def healthz(self) -> int:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=5) as resp:
                return resp.status
        except OSError:
            return -1

    def snapshot(self) -> dict:
        """What must not change when a gate refuses a run."""
        return {
            "head": self.head(),
            "porcelain": self.git("status", "--porcelain"),
            "version": self.version_file(),
            "status": self.status(),
        }

    def cli(self, *args: str) -> None:
        subprocess.run([sys.executable, str(INSTALL_BOX), *args, "--prefix", str(self.prefix)], check=True)

    def set_fault(self, version: str, *names: str) -> None:
        self.cli("set-fault", version, *names)

    def clear_faults(self) -> None:
        self.cli("clear-faults")

    def foreign_state_writes(self) -> list[str]:
        """Files in logs/state that the engine did not write (its write ledger,
        tests/box/engine/hedge/statefiles.py): [] when nothing else wrote there."""
        result = subprocess.run([sys.executable, str(STATEFILES), str(self.state_dir)],
                                capture_output=True, text=True)
        return [] if result.returncode == 0 else result.stdout.split()


# pytest for the boxes' `make pretag`, installed once per machine and shared by every test box's venv
# (install_box.py --site-cache) instead of a pip install per box.
SITE_CACHE = os.environ.get("HEDGE_BOX_SITE_CACHE") or "/tmp/gpt-hedge-box-site-cache"


def install_box(prefix: Path, *extra: str) -> Box:
    port = free_port()
    subprocess.run(
        [sys.executable, str(INSTALL_BOX), "install", "--prefix", str(prefix), "--port", str(port),
         "--site-cache", SITE_CACHE, *extra],
        check=True,
    )
    box = Box(prefix=prefix, port=port)
    box.info = json.loads((prefix / "box.json").read_text())
    return box


def stop_box(box: Box) -> None:
    subprocess.run([sys.executable, str(INSTALL_BOX), "stop", "--prefix", str(box.prefix)], check=False)


@dataclass
class Run:
    rc: int
    stdout: str
    stats: dict
    # ansible-runner's job events of the run (the event dicts)
    events: list = field(default_factory=list)


# Actions that run on the controller only (action plugins without a module run on the box).
CONTROLLER_ACTIONS = {
    "ansible.builtin." + name for name in (
        "assert", "set_fact", "debug", "fail", "meta", "set_stats", "validate_argument_spec",
        "include_role", "include_tasks", "import_role", "import_tasks")
} | {"gpt_hedge.activation.hedge_outputs"}


def module_runs(run: Run, host: str = "localbox") -> list[str]:
    """The tasks of `host` that ran a module (ok, changed or failed task results, async polls not counted),
    as `<resolved action>: <task name>`, in order: what costs a module process per box."""
    runs = []
    for event in run.events:
        data = event.get("event_data", {})
        if event.get("event") in ("runner_on_ok", "runner_on_failed") and data.get("host") == host \
                and data.get("resolved_action") not in CONTROLLER_ACTIONS:
            runs.append(f"{data.get('resolved_action')}: {data.get('task')}")
    return runs


def run_playbook(box: Box, playbook: str, tmp_path: Path, *, cmdline: str | None = None, **extravars) -> Run:
    """Run a playbook of the project through ansible-runner against `box`;
    `cmdline` adds ansible-playbook options, e.g. "--check --diff"."""
    private = tmp_path / f"runner-{len(list(tmp_path.glob('runner-*')))}"
    private.mkdir()
    result = ansible_runner.run(
        private_data_dir=str(private),
        project_dir=str(REPO),
        playbook=playbook,
        inventory=str(REPO / "inventories" / "local" / "hosts.yml"),
        extravars=extravars,
        cmdline=cmdline,
        envvars={
            "HEDGE_BOX_PREFIX": str(box.prefix),
            "HEDGE_BOX_PORT": str(box.port),
            "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
            "ANSIBLE_NOCOLOR": "1",
            # ansible-runner's stdout callback extends this one (ansible.cfg's stdout_callback is not read).
            "ANSIBLE_STDOUT_CALLBACK": "gpt_hedge.activation.gate_display",
            "HEDGE_OPSLOG_DIR": str(tmp_path / "opslog"),
            "HEDGE_REPORT_DIR": str(tmp_path / "reports"),
        },
        quiet=True,
    )
    stdout = result.stdout.read()
    (private / "stdout.txt").write_text(stdout)
    return Run(rc=result.rc, stdout=stdout, stats=result.stats or {}, events=list(result.events))


def wait_for(predicate, timeout, what):
    """Poll `predicate` every 0.2 s until it is true; fail naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def kill_after_checkout(box: Box, tmp_path: Path) -> None:
    """Start an activation of v7.6 and kill -9 its process group as soon as the
    checkout is at the tag (the engine still runs v7.5)."""
    v76 = box.git("rev-parse", "v7.6^{commit}")
    proc = spawn_playbook(box, "activate.yml", tmp_path / "killed.log", version="v7.6")
    try:
        wait_for(lambda: box.head() == v76, 120, "the checkout of v7.6")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def runtime_report(output: str) -> str:
    """The runtime report's lines (whitespace folded), from its header to its ops log line."""
    text = " ".join(output.split())
    start = text.find("=== Runtime report: localbox")
    assert start >= 0, output[-3000:]
    return text[start:text.find("Ops log", start)]


def gate_failure(output: str, gate: str) -> str:
    """The one-line reason of `GATE <gate> FAILED: ...` in an ansible-playbook
    output (the display may wrap it: whitespace is folded first)."""
    folded = " ".join(output.split())
    marker = f"GATE {gate} FAILED: "
    start = folded.find(marker)
    return "" if start < 0 else folded[start:start + 400]


# Automatic rollback: one case per fault switch of the simulator, the gate it
# must trip, and short timeouts so a case does not wait out the defaults.
AUTO_ROLLBACK_CASES = [
    ("crash_at_boot", "restart.programs_running"),
    ("no_boot_line", "verify.boot_line"),
    ("stale_timestamps", "verify.surfaces_fresh"),
    ("malformed_json", "verify.surfaces_fresh"),
    ("wrong_engine_version", "verify.engine_version"),
    ("dashboard_down", "verify.dashboard_healthz"),
    ("error_log", "verify.error_log"),
    ("publish_errors", "verify.state_publish"),
    ("no_publish", "verify.state_publish"),
    ("sanity_fail", "verify.sanity"),
    ("nav_jump", "verify.runtime_sanity"),
]
# Each case runs once in CI: these locally (tests/integration/test_rollback.py:
# the two ends of the pipeline, a restart that fails and verify gates, the
# surfaces judged early), the rest in molecule's auto_rollback scenario, on a
# box container.
LOCAL_FAULTS = ("crash_at_boot", "wrong_engine_version", "error_log", "publish_errors", "sanity_fail", "nav_jump",
                "stale_timestamps", "malformed_json")
# Faults whose evidence is conclusive before the gate's timeout (the early verdict,
# docs/gates.md): what the failed gate's reason says about it.
EARLY_VERDICTS = {
    "stale_timestamps": "rewritten after the restart with this timestamp: not waiting out the timeout",
    "malformed_json": "rewritten after the restart and unchanged for",
}
LOCAL_CASES = [case for case in AUTO_ROLLBACK_CASES if case[0] in LOCAL_FAULTS]
MOLECULE_CASES = [case for case in AUTO_ROLLBACK_CASES if case[0] not in LOCAL_FAULTS]
FAST_GATES = {
    "restart_running_timeout": 20,
    # Longer than the 4 s the exit_after_start fault stays up after a start.
    "restart_stable_seconds": 6,
    "verify_boot_timeout": 10,
    "verify_surface_timeout": 8,
    "verify_healthz_timeout": 6,
}


def read_history(history_dir: Path) -> list[dict]:
    """The box's history records, oldest first."""
    records = [json.loads(p.read_text()) for p in sorted(history_dir.glob("*.json"))]
    return sorted(records, key=lambda r: (r.get("started_at", ""), r.get("id", "")))


def spawn_playbook(box: Box, playbook: str, log: Path, **extravars) -> subprocess.Popen:
    """Start ansible-playbook in the background (own process group) against `box`."""
    env = {**os.environ, "HEDGE_BOX_PREFIX": str(box.prefix), "HEDGE_BOX_PORT": str(box.port),
           "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
           "HEDGE_OPSLOG_DIR": str(log.parent / "opslog"), "HEDGE_REPORT_DIR": str(log.parent / "reports")}
    out = open(log, "w")  # noqa: SIM115 - closed by the caller's process lifetime
    return subprocess.Popen(
        ["ansible-playbook", playbook, "-e", json.dumps(extravars)],
        cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
    )
