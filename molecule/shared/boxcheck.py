"""What the molecule verifiers read off a containerized runtime box (testinfra
`host`), shared by every scenario. Timestamps are parsed with the collection's
own module_utils, so the verifier reads every form of the contract."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "collections"))
sys.path.insert(0, str(ROOT / "tests" / "integration"))

# pylint: disable=wrong-import-position
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_json import first_present  # noqa: E402
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_surfaces import DEFAULT_SURFACES  # noqa: E402
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_time import parse_timestamp  # noqa: E402
from boxlib import AUTO_ROLLBACK_CASES, FAST_GATES, MOLECULE_CASES, gate_failure  # noqa: E402,F401  (shared with the integration tests)

CHECKOUT = "/root/hedge-fund"
STATE_DIR = CHECKOUT + "/logs/state"
FAULTS_DIR = "/root/hedge-sim-faults"
PROGRAMS = ("hedge-executor", "hedge-dashboard", "hedge-sync_state")


def sh(host, command: str) -> str:
    return host.check_output(command)


def checked_out_tag(host) -> str:
    return host.run(f"git -C {CHECKOUT} describe --tags --exact-match").stdout.strip()


def version_file(host) -> str:
    return host.file(f"{CHECKOUT}/VERSION").content_string.strip()


def programs(host) -> dict[str, tuple[str, str]]:
    """program -> (state, pid) of the hedge group."""
    result = {}
    for line in host.run("supervisorctl status hedge:").stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith("hedge:"):
            pid = parts[3].rstrip(",") if len(parts) > 3 and parts[2] == "pid" else ""
            result[parts[0].split(":", 1)[1]] = (parts[1], pid)
    return result


def state(host, name: str):
    return json.loads(host.file(f"{STATE_DIR}/{name}").content_string)


def engine_version(host) -> str:
    meta = state(host, "engine_metadata.json")
    return meta.get("engine_version") or meta.get("version")


def surface_ages(host) -> dict[str, float | None]:
    """Age in seconds of every surface of the contract, by its freshness key."""
    now = float(host.check_output("date +%s.%N"))
    ages = {}
    for spec in DEFAULT_SURFACES:
        path = f"{STATE_DIR}/{spec['name']}"
        if not host.file(path).exists:
            ages[spec["name"]] = None
            continue
        _key, raw = first_present(json.loads(host.file(path).content_string), spec["keys"])
        stamp = parse_timestamp(raw)
        ages[spec["name"]] = None if stamp is None else round(now - stamp, 1)
    return ages


def healthz(host) -> str:
    return host.run("curl -s -o /dev/null -w '%{http_code}' http://localhost:8501/healthz").stdout.strip()


def foreign_state_writes(host) -> list[str]:
    """Files in logs/state not written by the engine (its write ledger)."""
    result = host.run(f"cd {CHECKOUT} && python3 hedge/statefiles.py logs/state")
    return [] if result.rc == 0 else result.stdout.split()


def snapshot(host) -> dict:
    """What a refused run must leave exactly as it was."""
    return {
        "head": host.check_output(f"git -C {CHECKOUT} rev-parse HEAD"),
        "porcelain": host.run(f"git -C {CHECKOUT} status --porcelain").stdout,
        "version": version_file(host),
        "programs": programs(host),
    }


def run_playbook(playbook: str, *args: str) -> subprocess.CompletedProcess:
    """ansible-playbook from the repo root (the project's ansible.cfg) against
    molecule's inventory of this scenario."""
    return subprocess.run(
        ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], playbook, *args],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False,
        env={**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"},
    )
