"""hedge_run (python -m hedge_run) and AWX-style execution (the ansible-runner
CLI on a private data dir) against simulated boxes. Few runs: each activation
costs ~25 s."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from boxlib import FAST_GATES, REPO

PROGRAMS = ("hedge-executor", "hedge-dashboard", "hedge-sync_state")
BINDIR = Path(sys.executable).parent
LINE_RE = re.compile(r"^\[\s*\d+\.\ds\] (?P<host>\S+)\s+(?P<stage>\S+)\s+(?P<status>\S+)\s+(?P<msg>.*)$")
SUMMARY_RE = re.compile(r"^hedge_run (?P<title>.+): (?P<outcome>\S+) \(exit (?P<code>\d+)\) in ")
SECRETS = {"preflight_ci_token": "PLANTED-SECRET-123", "box_docker_registry_password": "PLANTED-PASSWORD-456"}
# Planted in the later rollback (other values: a leak of the rollback's own inputs is told apart).
ROLLBACK_SECRETS = {"preflight_ci_token": "PLANTED-SECRET-789", "box_docker_registry_password": "PLANTED-PASSWORD-012"}
FAST = [arg for key, value in FAST_GATES.items() for arg in ("-e", f"{key}={value}")]


def box_env(box, tmp_path: Path) -> dict:
    env = {key: value for key, value in os.environ.items()
           if key not in ("ANSIBLE_CONFIG", "ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_COLLECTIONS_PATHS")}
    env.update(HEDGE_BOX_PREFIX=str(box.prefix), HEDGE_BOX_PORT=str(box.port),
               HEDGE_OPSLOG_DIR=str(tmp_path / "opslog"), HEDGE_REPORT_DIR=str(tmp_path / "reports"),
               PATH=f"{BINDIR}{os.pathsep}{os.environ.get('PATH', '')}")
    return env


def hedge_run(box, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "hedge_run", *args], cwd=REPO, env=box_env(box, tmp_path),
                          capture_output=True, text=True, timeout=600)
    (tmp_path / "hedge_run.out").write_text(proc.stdout + proc.stderr)
    return proc


def progress_lines(stdout: str) -> list[dict]:
    return [m.groupdict() for m in map(LINE_RE.match, stdout.splitlines()) if m]


def read_events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def summary(stdout: str) -> dict:
    """The run's summary line: outcome and exit code."""
    (match,) = [m for m in map(SUMMARY_RE.match, stdout.splitlines()) if m]
    return match.groupdict()


def fleet_rows(tmp_path: Path) -> list[dict]:
    """The rows of the newest fleet summary JSON ($HEDGE_REPORT_DIR/fleet-summary-*.json)."""
    newest = max((tmp_path / "reports").glob("fleet-summary-*.json"), key=lambda p: p.stat().st_mtime)
    return json.loads(newest.read_text())["rows"]


def files_holding(root: Path, *needles: str) -> list[str]:
    """Every file under root whose bytes hold one of the needles."""
    return sorted(str(path) for path in root.rglob("*") if path.is_file() and not path.is_symlink()
                  and any(needle.encode() in path.read_bytes() for needle in needles))


def test_hedge_run_activate(fresh_box, tmp_path):
    before = fresh_box.status()
    proc = hedge_run(fresh_box, tmp_path, "activate", "--version", "v7.6", "-e", "operator=alice")

    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    lines = progress_lines(proc.stdout)
    stages = [line["stage"] for line in lines if line["host"] == "localbox" and line["status"] == "start"]
    for stage in ("preflight", "deploy_git", "restart", "verify"):
        assert stage in stages, stages
    # The ledger reads what is live through deploy_git's entry point live before the preflight: the deploy
    # itself starts after the preflight.
    deploy = stages.index("deploy_git", stages.index("preflight"))
    assert stages.index("preflight") < deploy < stages.index("restart", deploy) < stages.index("verify", deploy)
    gates = {(line["stage"], line["status"], line["msg"].split()[1]) for line in lines if line["msg"].startswith("GATE ")}
    for stage, gate in (("preflight", "preflight.tag_exists"), ("deploy_git", "deploy.checkout"),
                        ("restart", "restart.programs_running"), ("verify", "verify.engine_version")):
        assert (stage, "ok", gate) in gates, gate
    assert not [line for line in lines if line["status"] in ("FAILED", "UNREACH", "ERROR")]

    # The default private data dir ($HEDGE_REPORT_DIR/hedge_run) and the events file in its artifacts.
    ident = re.search(r"ident (\S+)", proc.stdout).group(1)
    events_file = tmp_path / "reports" / "hedge_run" / "artifacts" / ident / "hedge_events.jsonl"
    assert f"events in {events_file}" in proc.stdout
    events = read_events(events_file)
    (stats,) = [e["event_data"] for e in events if e["event"] == "playbook_on_stats"]
    assert stats["failures"] == {} and stats["dark"] == {} and stats["ok"]["localbox"] > 0
    assert {"playbook_on_start", "runner_on_ok"} <= {e["event"] for e in events}
    assert all(e["runner_ident"] == ident for e in events)
    # ansible-runner's own artifacts are kept too.
    assert (events_file.parent / "status").read_text() == "successful"
    assert len(list((events_file.parent / "job_events").glob("*.json"))) == len(events)

    assert summary(proc.stdout) == {"title": "activate.yml v7.6", "outcome": "success", "code": "0"}
    host_line = proc.stdout.splitlines()[-1].split()
    assert host_line[:2] == ["localbox", "success"] and "failed=0" in host_line and "unreachable=0" in host_line
    # The box: v7.6 live, restarted, answering.
    assert fresh_box.version_file() == "v7.6"
    after = fresh_box.status()
    assert {p: after[p][0] for p in PROGRAMS} == {p: "RUNNING" for p in PROGRAMS}
    assert after["hedge-executor"][1] != before["hedge-executor"][1]
    meta = fresh_box.engine_metadata()
    assert meta.get("engine_version", meta.get("version")) == "v7.6"
    assert fresh_box.healthz() == 200
    assert fresh_box.history()[-1]["operator"] == "alice"


def test_hedge_run_refused_names_the_gate_and_leaves_the_box(shared_box, tmp_path):
    before = shared_box.snapshot()
    events_file = tmp_path / "ev" / "events.jsonl"
    proc = hedge_run(shared_box, tmp_path, "activate", "--version", "v9.9", "--events", str(events_file))

    # Refused: exit 3, the outcome word of the history record and the fleet summary.
    assert proc.returncode == 3, proc.stdout[-4000:]
    assert summary(proc.stdout) == {"title": "activate.yml v9.9", "outcome": "refused", "code": "3"}
    assert proc.stdout.splitlines()[-1].split()[:2] == ["localbox", "refused"]
    assert [row["outcome"] for row in fleet_rows(tmp_path)] == ["refused"]
    failed = [line for line in progress_lines(proc.stdout) if line["status"] == "FAILED"]
    assert failed[0]["stage"] == "preflight"
    assert failed[0]["msg"].startswith("GATE preflight.tag_exists FAILED: tag v9.9 not found")
    assert proc.stdout.splitlines()[-1].endswith("failed gate: preflight.tag_exists")
    assert shared_box.snapshot() == before
    events = read_events(events_file)
    (stats,) = [e["event_data"] for e in events if e["event"] == "playbook_on_stats"]
    assert stats["failures"] == {"localbox": 1}
    assert any(e["event"] == "runner_on_failed" and "preflight.tag_exists" in e["event_data"]["res"].get("msg", "")
               for e in events)


def test_awx_private_data_dir_with_the_ansible_runner_cli(fresh_box, tmp_path):
    """AWX-style: project/ (a copy of the repo), inventory/, env/extravars, env/envvars; plain
    `ansible-runner run DIR -p activate.yml`, no ANSIBLE_CONFIG: ansible.cfg's relative
    collections_path must resolve the collection inside the copy."""
    private = tmp_path / "awx"
    project = private / "project"
    skip = {".git", ".venv", ".box", ".cache", ".pytest_cache", "reports", "opslog"}  # top level only
    shutil.copytree(REPO, project, symlinks=True,
                    ignore=lambda where, names: [n for n in names if n == "__pycache__" or (Path(where) == REPO and n in skip)])
    assert (project / "collections" / "ansible_collections" / "gpt_hedge" / "activation").resolve() == project
    shutil.copytree(REPO / "inventories" / "local", private / "inventory")
    (private / "env").mkdir()
    (private / "env" / "extravars").write_text(yaml.safe_dump({"version": "v7.6", "operator": "awx"}))
    env = box_env(fresh_box, tmp_path)
    (private / "env" / "envvars").write_text(yaml.safe_dump(
        {key: env[key] for key in ("HEDGE_BOX_PREFIX", "HEDGE_BOX_PORT", "HEDGE_OPSLOG_DIR", "HEDGE_REPORT_DIR")}))
    for key in ("HEDGE_BOX_PREFIX", "HEDGE_BOX_PORT"):
        env.pop(key)  # only the private data dir says which box

    proc = subprocess.run([str(BINDIR / "ansible-runner"), "run", str(private), "-p", "activate.yml", "--ident", "awx"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    (tmp_path / "awx.out").write_text(proc.stdout + proc.stderr)

    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    artifacts = private / "artifacts" / "awx"
    assert (artifacts / "status").read_text() == "successful" and (artifacts / "rc").read_text() == "0"
    events = [json.loads(p.read_text()) for p in (artifacts / "job_events").glob("*.json")]
    role_paths = {e["event_data"]["task_path"] for e in events
                  if e["event"] == "runner_on_ok" and e["event_data"].get("resolved_role", "").startswith("gpt_hedge.activation.")}
    # Every role task comes from the copy (never from the repo it was copied from), through the
    # collection path (the argument-spec checks carry the playbook line that imports the role).
    assert role_paths and all(path.startswith(f"{project}/") for path in role_paths), sorted(role_paths)[:3]
    in_collection = {p for p in role_paths if p.startswith(f"{project}/collections/ansible_collections/gpt_hedge/activation/roles/")}
    assert {p.split("/roles/")[1].split("/")[0] for p in in_collection} >= {
        "box", "ledger", "preflight", "deploy_git", "restart", "verify", "incidents", "opslog"}
    assert any(str(e["event_data"].get("res", {}).get("msg", "")).startswith("GATE verify.engine_version passed")
               for e in events)
    assert fresh_box.version_file() == "v7.6"
    meta = fresh_box.engine_metadata()
    assert meta.get("engine_version", meta.get("version")) == "v7.6"
    assert fresh_box.history()[-1]["operator"] == "awx"


def test_slow_pretag_progress_and_run_inputs_stay_with_their_run(fresh_box, tmp_path):
    """A 20 s make pretag: hedge_run prints `running` lines naming it with the elapsed time, ansible's own
    output its ASYNC POLL lines. The run's extra vars (secrets planted among them) reach no file of the
    private data dir, and a later rollback without a version in the same dir does not inherit version=v7.6:
    it returns to v7.5 (the history's previous release). The rollback gets secrets planted too: after both
    runs, no file of the private data dir (artifacts included) or the ops log holds any of them."""
    fresh_box.set_fault("v7.6", "pretag_slow")
    planted = [arg for key, value in SECRETS.items() for arg in ("-e", f"{key}={value}")]
    proc = hedge_run(fresh_box, tmp_path, "activate", "--version", "v7.6", *planted,
                     "-e", "box_docker_registry_username=ops")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]

    lines = progress_lines(proc.stdout)
    running = [line for line in lines if line["status"] == "running"]
    assert running, proc.stdout[-4000:]
    for line in running:
        # Every long task gets a progress line (a restart under load can pass 15 s too); each names its task.
        assert re.search(r"^\S.*: \d+ s so far$", line["msg"]), line
    pretag = [line for line in running if line["stage"] == "preflight" and "make pretag" in line["msg"]]
    assert pretag, running
    messages = [line["msg"] for line in lines]
    first_running = messages.index(pretag[0]["msg"])
    assert first_running < next(i for i, m in enumerate(messages) if m.startswith("GATE preflight.pretag passed"))
    ident = re.search(r"ident (\S+)", proc.stdout).group(1)
    private = tmp_path / "reports" / "hedge_run"
    ansible_out = (private / "artifacts" / ident / "stdout").read_text()
    # ansible's own output: the announcement, then ASYNC POLL lines while the job runs, before the next task.
    announced = ansible_out.split("Announce the long checks of the tag] ***", 1)[1].split("TASK [", 1)[0]
    assert "make pretag-v7.6 and the checks of v7.6 run in a scratch clone" in " ".join(announced.split())
    # Each poll line names the task and its elapsed time (plugins/callback/gate_display.py).
    assert re.search(r"ASYNC POLL on localbox: (\S+ : )?Clone the target tag .+ still running, \d+ s so far \(jid=",
                     announced), ansible_out[-3000:]
    assert fresh_box.version_file() == "v7.6"

    fresh_box.clear_faults()
    planted_back = [arg for key, value in ROLLBACK_SECRETS.items() for arg in ("-e", f"{key}={value}")]
    back = hedge_run(fresh_box, tmp_path, "rollback", *FAST, *planted_back, "-e", "box_docker_registry_username=ops")
    assert back.returncode == 0, back.stdout[-4000:] + back.stderr[-2000:]
    assert summary(back.stdout)["outcome"] == "success"
    assert fresh_box.version_file() == "v7.5"
    meta = fresh_box.engine_metadata()
    assert meta.get("engine_version", meta.get("version")) == "v7.5"
    assert fresh_box.history()[-1]["kind"] == "rollback" and fresh_box.history()[-1]["version"] == "v7.5"

    assert not (private / "env").exists()
    planted_values = (*SECRETS.values(), *ROLLBACK_SECRETS.values())
    assert files_holding(private, *planted_values) == []
    assert files_holding(tmp_path / "opslog", *planted_values) == []


def test_hedge_run_exit_codes_rolled_back_then_rollback_failed(fresh_box, tmp_path):
    """wrong_engine_version on v7.6: rolled back and verified, exit 4. Then crash_at_boot on v7.5 as well
    (the running v7.5 engine is already booted): the automatic rollback cannot restart v7.5, exit 6. The
    summary says what the history record and the fleet summary say."""
    fresh_box.set_fault("v7.6", "wrong_engine_version")
    proc = hedge_run(fresh_box, tmp_path, "activate", "--version", "v7.6", *FAST)
    assert proc.returncode == 4, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert summary(proc.stdout) == {"title": "activate.yml v7.6", "outcome": "rolled_back", "code": "4"}
    assert proc.stdout.splitlines()[-1].split()[:2] == ["localbox", "rolled_back"]
    assert proc.stdout.splitlines()[-1].endswith("failed gate: verify.engine_version")
    assert [row["outcome"] for row in fleet_rows(tmp_path)] == ["rolled_back"]
    assert fresh_box.history()[-2]["outcome"] == "rolled_back"
    assert fresh_box.version_file() == "v7.5"

    fresh_box.set_fault("v7.5", "crash_at_boot")
    again = hedge_run(fresh_box, tmp_path, "activate", "--version", "v7.6", *FAST)
    assert again.returncode == 6, again.stdout[-4000:] + again.stderr[-2000:]
    assert summary(again.stdout) == {"title": "activate.yml v7.6", "outcome": "rollback_failed", "code": "6"}
    assert again.stdout.splitlines()[-1].split()[:2] == ["localbox", "rollback_failed"]
    assert [row["outcome"] for row in fleet_rows(tmp_path)] == ["rollback_failed"]
    activation = [r for r in fresh_box.history() if r["kind"] == "activation"][-1]
    assert activation["outcome"] == "rollback_failed"
