#!/usr/bin/env python3
"""Benchmark of gpt_hedge.activation on simulated local boxes (tests/box).

Measured in one run on the same machine, each on fresh boxes:

1. single-box activation v7.5 -> v7.6: the full playbook (every gate) vs the
   bare runbook baseline (bench/runbook_baseline.sh: fetch, checkout,
   supervisorctl restart, no checks) vs the floor (restart to the first
   surface the new engine writes);
2. automatic rollback: time from the failed gate (verify.engine_version under
   the `wrong_engine_version` fault) to the verified v7.5;
3. fleet scaling: activation of N boxes at once (forks >= N) and T(N)/T(1);
4. peak memory (max RSS) of the controller's ansible-playbook process tree;
5. Ansible's own floor for the same work: as many no-op tasks as the single
   activation ran per box (ok + skipped), on 1 and on 12 local hosts;
6. CPU seconds per box, split into the controller's (ansible-playbook and its
   workers) and the boxes' (module processes and what they run, counted by
   the bench/box_python interpreter): the simulated boxes share the
   controller's cores, real boxes bring their own;
7. the lean-design floor: 4 and 8 module runs per box that do nothing but
   wait out the restart floor once, with four gate asserts after each, on 1
   and 12 hosts: T(12)/T(1) of a design far leaner than the activation;
8. the targets of issue #20 (bench/targets.py, bench/README.md), from the
   runs above, the box's own logs (bench/boxlog.py) and one more activation
   whose release writes stale timestamps.

Prints a table and writes JSON (--json). Usage:
    .venv/bin/python bench/bench.py [--fleet 1,3,6,12] [--json bench/latest.json]
    .venv/bin/python bench/bench.py --only-targets [--ci-wall SECONDS]   # the targets alone, a few minutes
    .venv/bin/python bench/bench.py --readme        # README.md's summary from bench/latest.json
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
INSTALL_BOX = REPO / "tests" / "box" / "install_box.py"
BIN = Path(sys.executable).parent
sys.path.insert(0, str(REPO / "collections"))
# pylint: disable=wrong-import-position
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_time import parse_timestamp  # noqa: E402

import targets  # noqa: E402  (bench/, the script's directory)
from boxlog import BoxLogs  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def install(prefix: Path) -> dict:
    subprocess.run([sys.executable, str(INSTALL_BOX), "install", "--prefix", str(prefix), "--port", str(free_port()),
                    "--supervisor-bin", str(BIN)], check=True, stdout=subprocess.DEVNULL)
    return json.loads((prefix / "box.json").read_text())


def install_many(prefixes: list[Path]) -> None:
    """Install boxes a few at a time (installing waits on each box's engine more than it computes)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(install, prefixes))


def stop(prefix: Path) -> None:
    subprocess.run([sys.executable, str(INSTALL_BOX), "stop", "--prefix", str(prefix)],
                   check=False, stdout=subprocess.DEVNULL)


def timed(cmd: list[str], env: dict | None = None, log: Path | None = None) -> tuple[float, int, int, float]:
    """Run cmd; return (wall seconds, exit code, max RSS in KiB, CPU seconds) of its process tree."""
    out = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115
    start = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=REPO, env={**os.environ, **(env or {})}, stdout=out, stderr=subprocess.STDOUT)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    if log:
        out.close()
    return wall, os.waitstatus_to_exitcode(status), usage.ru_maxrss, usage.ru_utime + usage.ru_stime


def box_cpu(path: Path) -> float:
    """Sum of the `<cutime> <cstime>` lines (clock ticks) bench/box_python appended."""
    ticks = 0
    if path.exists():
        for line in path.read_text().splitlines():
            ticks += sum(int(field) for field in line.split())
    return ticks / os.sysconf("SC_CLK_TCK")


def write_inventory(boxes: list[Path], directory: Path) -> Path:
    """An inventory of local boxes with their box_* values written out, as a
    real inventory holds them (the default local inventory derives them from
    box.json through lookups on every use, which costs CPU per task and host)."""
    directory.mkdir(parents=True, exist_ok=True)
    hosts = {}
    for i, prefix in enumerate(boxes, 1):
        box = json.loads((prefix / "box.json").read_text())
        hosts[f"box{i:02d}"] = {
            "ansible_connection": "local",
            "ansible_python_interpreter": str(REPO / "bench" / "box_python"),
            "box_checkout": box["checkout"],
            "box_executor_out_log": box["executor_out_log"],
            "box_executor_err_log": box.get("executor_err_log") or "",
            "box_supervisorctl_path": box["supervisorctl"],
            "box_supervisor_config": box["supervisor_conf"],
            "box_supervisor_group": box["group"],
            "box_programs": box["program_names"],
            "box_dashboard_port": box["port"],
            "preflight_workdir": str(prefix / "preflight"),
            "box_automation_dir": str(prefix / "activation"),
        }
    path = directory / "hosts.yml"
    path.write_text(json.dumps({"hedge_boxes": {"hosts": hosts}}, indent=2))
    return path


# The same configuration for every ansible-playbook the bench runs.
ANSIBLE_ENV = {"ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_FORKS": "50"}


def playbook(inventory: Path, name: str, outputs: Path, *extra: str, log: Path) -> tuple[float, int, int, dict]:
    """Run a playbook; return (wall, rc, max RSS KiB, {controller, boxes}: CPU seconds)."""
    box_log = log.with_suffix(".boxcpu")
    box_log.unlink(missing_ok=True)
    env = {**ANSIBLE_ENV,
           "HEDGE_OPSLOG_DIR": str(outputs / "opslog"), "HEDGE_REPORT_DIR": str(outputs / "reports"),
           "HEDGE_BENCH_PYTHON": sys.executable, "HEDGE_BENCH_BOX_CPU": str(box_log)}
    wall, rc, rss, cpu = timed([str(BIN / "ansible-playbook"), "-i", str(inventory), name, *extra], env=env, log=log)
    boxes = box_cpu(box_log)
    return wall, rc, rss, {"controller": round(cpu - boxes, 2), "boxes": round(boxes, 2)}


def first_fresh_surface(state_dir: Path, since: float, timeout: float = 60.0) -> float:
    """Poll until a surface carries a timestamp newer than `since`; return when."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in state_dir.glob("*.json"):
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            stamp = parse_timestamp(data.get("updated_ts") or data.get("updated_at"))
            if stamp and stamp > since:
                return time.time()
        time.sleep(0.05)
    raise RuntimeError("no fresh surface within %s s" % timeout)


def bench_single(work: Path, outputs: Path) -> dict:
    """One activation; also the engine's downtime in it (box logs: stop signal to the next state publish)."""
    box = work / "single"
    info = install(box)
    inv = write_inventory([box], work / "inv-single")
    load, start = targets.loadavg(), time.time()
    wall, rc, rss, cpu = playbook(inv, "activate.yml", outputs, "-e", "version=v7.6", log=work / "activate.log")
    down = BoxLogs(info).downtime(start)
    stop(box)
    return {"activation_s": round(wall, 2), "rc": rc, "max_rss_kib": rss, "cpu_s": cpu,
            "engine_downtime_s": None if down is None else round(down, 2), "load": load}


def bench_ssh(work: Path, outputs: Path) -> dict:
    """One activation over SSH as a login user with sudo (become), on a box whose checkout belongs to the
    service account, next to one on the local connection measured right before it: the cost of the real
    transport. The sshd, the accounts and the inventory are the integration tests' (tests/integration/sshlib.py).
    CPU: the controller's only (ansible-playbook, its workers and the ssh clients); the module processes run
    under sshd, outside the measured process tree."""
    sys.path.insert(0, str(REPO / "tests" / "integration"))
    import boxlib  # noqa: E402  pylint: disable=import-outside-toplevel
    import sshlib  # noqa: E402  pylint: disable=import-outside-toplevel
    local = bench_single(work, outputs)
    sshlib.ensure_accounts()
    prefix = work / "ssh" / "box"
    prefix.mkdir(parents=True)
    sshlib.open_path_for(prefix, Path("/tmp"))
    box = boxlib.install_box(prefix, "--supervisor-bin", str(BIN), "--service-user", sshlib.SERVICE_USER,
                             "--python", "/usr/bin/python3")
    server = sshlib.start_sshd(work / "ssh" / "sshd")
    try:
        inv = sshlib.ssh_inventory(box, server, work / "ssh" / "hosts.yml")
        wall, rc, rss, cpu = playbook(inv, "activate.yml", outputs, "-e", "version=v7.6", log=work / "activate-ssh.log")
    finally:
        server.stop()
        stop(prefix)
    return {"activation_local_s": local["activation_s"], "activation_ssh_s": round(wall, 2), "rc": rc,
            "ssh_vs_local": round(wall / local["activation_s"], 2), "max_rss_kib": rss,
            "controller_cpu_local_s": local["cpu_s"]["controller"], "controller_cpu_ssh_s": cpu["controller"]}


def bench_baseline(work: Path) -> dict:
    box = work / "baseline"
    info = install(box)
    env = {"CHECKOUT": info["checkout"], "SUPERVISORCTL": info["supervisorctl"], "SUPERVISOR_CONF": info["supervisor_conf"],
           "VERSION": "v7.6"}
    load = targets.loadavg()
    wall, rc, _rss, _cpu = timed(["bash", str(REPO / "bench" / "runbook_baseline.sh")], env=env, log=work / "baseline.log")
    stop(box)
    return {"baseline_s": round(wall, 2), "rc": rc, "load": load}


def bare_restart(info: dict) -> float:
    """`supervisorctl restart <group>:` on a box; return when it was called."""
    start = time.time()
    subprocess.run([info["supervisorctl"], "-c", info["supervisor_conf"], "restart", info["group"] + ":"],
                   check=True, stdout=subprocess.DEVNULL)
    return start


def bench_floor(work: Path) -> dict:
    """Restart to the first fresh surface; also the bare restart's engine downtime, measured as in an activation."""
    box = work / "floor"
    info = install(box)
    subprocess.run(["git", "-C", info["checkout"], "checkout", "-q", "v7.6"], check=True)
    load = targets.loadavg()
    start = bare_restart(info)
    fresh = first_fresh_surface(Path(info["state_dir"]), start)
    down = BoxLogs(info).downtime(start)
    stop(box)
    return {"floor_s": round(fresh - start, 2), "bare_restart_downtime_s": None if down is None else round(down, 2),
            "load": load}


def set_fault(box: Path, version: str, fault: str) -> None:
    subprocess.run([sys.executable, str(INSTALL_BOX), "set-fault", version, fault, "--prefix", str(box)],
                   check=True, stdout=subprocess.DEVNULL)


def since(start: float | None, end: float | None) -> float | None:
    return None if start is None or end is None else round(end - start, 2)


def bench_rollback(work: Path, outputs: Path) -> dict:
    """An activation whose verify.engine_version fails and rolls back; from the box's logs, the failed gate to the
    bad release stopped and to the previous release's programs RUNNING; then a bare `supervisorctl restart` of the
    same box, measured the same way (its call to every program RUNNING)."""
    box = work / "rollback"
    info = install(box)
    set_fault(box, "v7.6", "wrong_engine_version")
    inv = write_inventory([box], work / "inv-rollback")
    load = targets.loadavg()
    wall, rc, rss, _cpu = playbook(inv, "activate.yml", outputs, "-e", "version=v7.6", log=work / "rollback.log")
    logs = BoxLogs(info)
    gate_failed, verified, gate = gate_to_verified(work / "rollback.log")
    restored = None if gate_failed is None else logs.all_running(gate_failed)
    bad_stopped = None if gate_failed is None else logs.stop_signal(gate_failed)
    bare_load = targets.loadavg()
    bare = bare_restart(info)
    bare_running = logs.all_running(bare)
    stop(box)
    history = sorted((json.loads(p.read_text()) for p in (box / "activation" / "history").glob("*.json")),
                     key=lambda r: r["started_at"])
    return {"activation_with_rollback_s": round(wall, 2), "rc": rc, "max_rss_kib": rss,
            "failed_gate_to_verified_rollback_s": since(gate_failed, verified),
            "outcomes": [(r["kind"], r["outcome"]) for r in history],
            "failed_gate": gate, "failed_gate_to_stop_s": since(gate_failed, bad_stopped),
            "failed_gate_to_restarted_s": since(gate_failed, restored), "bare_restart_s": since(bare, bare_running),
            "load": load, "bare_restart_load": bare_load}


def bench_detect(work: Path, outputs: Path) -> dict:
    """An activation whose release rewrites its surfaces with stale timestamps (fault stale_timestamps): from the
    restart (the executor's stop signal, box log) to the failed gate. auto_rollback=false: the rollback comes after
    the measured moment and would only lengthen the run."""
    box = work / "detect"
    info = install(box)
    set_fault(box, "v7.6", "stale_timestamps")
    inv = write_inventory([box], work / "inv-detect")
    load, start = targets.loadavg(), time.time()
    wall, rc, _rss, _cpu = playbook(inv, "activate.yml", outputs, "-e", "version=v7.6", "-e", "auto_rollback=false",
                                    log=work / "detect.log")
    gate_failed, _verified, gate = gate_to_verified(work / "detect.log")
    restart = BoxLogs(info).stop_signal(start)
    stop(box)
    return {"activation_s": round(wall, 2), "rc": rc, "failed_gate": gate,
            "restart_to_failed_gate_s": since(restart, gate_failed), "load": load}


def gate_to_verified(log: Path) -> tuple[float | None, float | None, str | None]:
    """Timestamps of the first failed gate and of the verified rollback, and the failed gate's name, from the
    `BENCH gate_failed <epoch> <gate>` and `BENCH rollback_verified <epoch>` lines of the bench_timer callback."""
    failed = verified = gate = None
    for line in log.read_text().splitlines():
        if line.startswith("BENCH "):
            fields = line.split()
            if fields[1] == "gate_failed" and failed is None:
                failed = float(fields[2])
                gate = fields[3] if len(fields) > 3 else None
            elif fields[1] == "rollback_verified":
                verified = float(fields[2])
    return failed, verified, gate


def tasks_per_box(log: Path) -> int:
    """Tasks a box went through (ok + skipped + failed + rescued) from the PLAY RECAP of a one-box run."""
    for line in log.read_text().splitlines():
        fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
        if "ok" in fields and "skipped" in fields:
            return sum(int(fields.get(k, 0)) for k in ("ok", "skipped", "failed", "rescued"))
    raise RuntimeError("no PLAY RECAP in %s" % log)


def synthetic(directory: Path, name: str, tasks: list[dict], sizes: tuple[int, ...]) -> list[dict]:
    """Run a play of `tasks` on N local hosts (no box behind them), same
    ansible.cfg and forks as the real runs; a row per N."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.yml").write_text(json.dumps([{"name": name, "hosts": "all", "gather_facts": False,
                                                         "tasks": tasks}]))
    rows = []
    for n in sizes:
        inv = directory / f"{name}-hosts-{n}.yml"
        inv.write_text(json.dumps({"all": {"hosts": {f"{name}{i:02d}": {"ansible_connection": "local",
                                                                        "ansible_python_interpreter": sys.executable}
                                                     for i in range(1, n + 1)}}}))
        wall, rc, _rss, cpu = timed([str(BIN / "ansible-playbook"), "-i", str(inv), str(directory / f"{name}.yml")],
                                    env=ANSIBLE_ENV, log=directory / f"{name}-{n}.log")
        rows.append({"n": n, "seconds": round(wall, 2), "cpu_s": round(cpu, 2), "rc": rc})
    return rows


def gate(label: str) -> dict:
    return {"name": f"Gate {label}", "ansible.builtin.assert": {"that": True, "quiet": True}}


def bench_ansible_floor(work: Path, tasks: int, sizes: tuple[int, ...] = (1, 12)) -> list[dict]:
    """The same number of no-op tasks (assert true: no module run, no box),
    on N local hosts: what any playbook of that length costs before it does anything."""
    rows = synthetic(work / "ansible-floor", "noop", [gate(str(i)) for i in range(tasks)], sizes)
    return [{**row, "tasks": tasks} for row in rows]


def bench_design_floor(work: Path, restart_s: float, module_runs: tuple[int, ...] = (4, 8),
                       sizes: tuple[int, ...] = (1, 12)) -> list[dict]:
    """A leaner design than any activation can be: k module runs that do
    nothing (ansible.builtin.ping), one of them waiting out the restart floor
    instead, and four gate asserts after each; no git, no make, no supervisorctl.
    Its T(12)/T(1) is what per-box module runs cost by themselves on this machine."""
    rows = []
    for runs in module_runs:
        tasks = []
        for i in range(runs):
            tasks.append({"name": "Wait out the restart floor", "ansible.builtin.command": f"sleep {restart_s}",
                          "changed_when": True} if i == 1 else {"name": f"Module run {i}", "ansible.builtin.ping": {}})
            tasks.extend(gate(f"{i}.{j}") for j in range(4))
        for row in synthetic(work / "design-floor", f"lean{runs}", tasks, sizes):
            rows.append({**row, "module_runs": runs, "tasks": len(tasks)})
    for row in rows:
        one = next(r for r in rows if r["module_runs"] == row["module_runs"] and r["n"] == 1)
        row["t1_s"] = one["seconds"]
        row["ratio"] = round(row["seconds"] / one["seconds"], 2)
    return rows


def bench_fleet(work: Path, outputs: Path, sizes: list[int], canary_run: bool = True) -> list[dict]:
    """T(N) with every box in one batch (-e hedge_canary=100%: the scaling of
    the engine itself), then, for the largest N, the default rollout (a canary
    box first, then the rest), whose extra cost is one single-box activation."""
    rows = []
    runs = [(n, "100%") for n in sizes] + ([(sizes[-1], "1")] if sizes and canary_run else [])
    for n, canary in runs:
        tag = f"fleet{n}-canary{canary.rstrip('%')}"
        boxes = [work / tag / f"box{i:02d}" for i in range(1, n + 1)]
        install_many(boxes)
        inv = write_inventory(boxes, work / f"inv-{tag}")
        load = targets.loadavg()
        wall, rc, rss, cpu = playbook(inv, "activate.yml", outputs, "-e", "version=v7.6", "-e", f"hedge_canary={canary}",
                                      log=work / f"{tag}.log")
        for prefix in boxes:
            stop(prefix)
        rows.append({"n": n, "canary": canary, "seconds": round(wall, 2), "rc": rc, "max_rss_kib": rss,
                     "cpu_s_per_box": {k: round(v / n, 2) for k, v in cpu.items()}, "load": load})
    base = rows[0]["seconds"] if rows else None
    for row in rows:
        row["ratio"] = round(row["seconds"] / base, 2) if base else None
    return rows


def write_readme(latest: Path, readme: Path = REPO / "README.md") -> int:
    """Rewrite README.md's performance summary (between the bench markers) from the JSON; nothing else."""
    try:
        text = readme.read_text()
        new = targets.readme_with_block(text, targets.readme_block(json.loads(latest.read_text())))
    except (OSError, ValueError) as exc:
        print("bench: README not rewritten: %s" % exc, file=sys.stderr)
        return 2
    if new != text:
        readme.write_text(new)
    print(targets.readme_block_of(new))
    return 0


def measure_targets(work: Path, outputs: Path, ci_wall: float | None) -> dict:
    """Only what the targets need, in one run: one activation, the bare runbook, the floor, a rolled-back
    activation (and a bare restart of its box), a stale release detected, and the fleet at N=1 and N=12."""
    m = {"single": bench_single(work, outputs), "baseline": bench_baseline(work), "floor": bench_floor(work),
         "rollback": bench_rollback(work, outputs), "detect": bench_detect(work, outputs),
         "fleet": bench_fleet(work, outputs, [1, 12], canary_run=False)}
    return {"measurements": m, "targets": targets.build(m, targets.ci_wall(CI_WALL, ci_wall))}


CI_WALL = REPO / "bench" / "ci_wall.json"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fleet", default="1,3,6,12", help="fleet sizes (default 1,3,6,12)")
    parser.add_argument("--json", default=str(REPO / "bench" / "latest.json"), help="where to write the JSON")
    parser.add_argument("--only-ssh", action="store_true",
                        help="measure only the SSH row (local vs SSH activation) and update it in the JSON")
    parser.add_argument("--only-targets", action="store_true",
                        help="measure only what the targets need and update `targets` in the JSON (a few minutes)")
    parser.add_argument("--ci-wall", type=float, metavar="SECONDS",
                        help="clean-clone .ci/run wall time measured on a quiet machine (else bench/ci_wall.json)")
    parser.add_argument("--readme", action="store_true",
                        help="measure nothing: rewrite README.md's performance summary from the JSON")
    args = parser.parse_args()
    if args.ci_wall is not None and args.ci_wall <= 0:
        parser.error("--ci-wall must be a positive number of seconds, got %s" % args.ci_wall)
    if args.readme:
        return write_readme(Path(args.json))
    work = Path(tempfile.mkdtemp(prefix="gpt-hedge-bench-", dir="/tmp"))
    outputs = work / "outputs"
    os.environ["ANSIBLE_CALLBACKS_ENABLED"] = "gpt_hedge.activation.bench_timer"
    began = time.monotonic()
    if args.only_ssh or args.only_targets:
        try:
            part = bench_ssh(work, outputs) if args.only_ssh else measure_targets(work, outputs, args.ci_wall)
        finally:
            for box_json in work.rglob("box.json"):
                stop(box_json.parent)
        result = json.loads(Path(args.json).read_text()) if Path(args.json).exists() else {}
        if args.only_ssh:
            result["ssh"] = dict(part, measured_at=now())
            print(ssh_table(result["ssh"]))
            ok = part["rc"] == 0
        else:
            result["targets"] = part["targets"]
            result["targets_run"] = targets_run("--only-targets", began, part["measurements"])
            print(targets.table(result["targets"]))
            ok = all(row["met"] for row in result["targets"].values())
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
        shutil.rmtree(work, ignore_errors=True)
        return 0 if ok else 1
    try:
        single = bench_single(work, outputs)
        baseline = bench_baseline(work)
        floor = bench_floor(work)
        rollback = bench_rollback(work, outputs)
        detect = bench_detect(work, outputs)
        fleet = bench_fleet(work, outputs, [int(n) for n in args.fleet.split(",") if n])
        ansible_floor = bench_ansible_floor(work, tasks_per_box(work / "activate.log"))
        design_floor = bench_design_floor(work, floor["floor_s"])
        ssh = bench_ssh(work, outputs)
    finally:
        for box_json in work.rglob("box.json"):
            stop(box_json.parent)
    measured = {"single": single, "baseline": baseline, "floor": floor, "rollback": rollback, "detect": detect,
                "fleet": fleet}
    result = {"single": single, "baseline": baseline, "floor": floor, "rollback": rollback, "fleet": fleet,
              "ansible_floor": ansible_floor, "design_floor": design_floor,
              "ssh": dict(ssh, measured_at=now()),
              "peak_rss_mib": round(max([single["max_rss_kib"], rollback["max_rss_kib"]]
                                        + [r["max_rss_kib"] for r in fleet]) / 1024, 1),
              "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
              "targets": targets.build(measured, targets.ci_wall(CI_WALL, args.ci_wall)),
              "targets_run": targets_run("full", began, measured)}
    Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    print()
    print(targets.table(result["targets"]))
    shutil.rmtree(work, ignore_errors=True)
    ok = single["rc"] == 0 and baseline["rc"] == 0 and all(r["rc"] == 0 for r in fleet)
    return 0 if ok else 1


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def targets_run(mode: str, began: float, measured: dict) -> dict:
    """When and how the targets were measured: the machine's load at the start of each measurement is in
    each target's `machine.load`; here the run's duration, the loads at start and end, the cores."""
    return {"mode": mode, "measured_at": now(), "duration_s": round(time.monotonic() - began, 1),
            "cpus": os.cpu_count(), "python": sys.version.split()[0], "load_at_end": targets.loadavg(),
            "load_at_start": measured["single"]["load"]}


def table(r: dict) -> str:
    s, b, f, rb = r["single"], r["baseline"], r["floor"], r["rollback"]
    lines = [
        "| measurement | value | target |",
        "|---|---|---|",
        f"| activation, every gate (1 box) | {s['activation_s']} s | |",
        f"| bare runbook baseline (no checks) | {b['baseline_s']} s | |",
        f"| floor: restart to first fresh surface | {f['floor_s']} s | |",
        f"| activation / baseline | {round(s['activation_s'] / b['baseline_s'], 2)}x | <= 2x |",
        f"| failed gate -> verified rollback | {rb['failed_gate_to_verified_rollback_s']} s | < 30 s |",
        f"| activation that rolled back (wall) | {rb['activation_with_rollback_s']} s | |",
    ]
    for row in r["fleet"]:
        mode = "one batch" if row.get("canary", "100%") == "100%" else f"canary {row['canary']} then the rest"
        target = "<= 2.5 at N=12" if row["n"] == 12 and mode == "one batch" else ""
        lines.append(f"| fleet N={row['n']} ({mode}): T(N) | {row['seconds']} s (T(N)/T(1) = {row['ratio']}) |"
                     f" {target} |")
    for row in r.get("ansible_floor", []):
        lines.append(f"| Ansible alone: {row['tasks']} no-op tasks on {row['n']} host(s) | {row['seconds']} s"
                     f" ({row['cpu_s']} CPU-s) | |")
    for row in r.get("design_floor", []):
        if row["n"] > 1:
            lines.append(f"| lean design ({row['module_runs']} empty module runs, restart floor, {row['tasks']} tasks):"
                         f" T(1) / T({row['n']}) | {row['t1_s']} s / {row['seconds']} s"
                         f" (T({row['n']})/T(1) = {row['ratio']}) | |")
    lines.append(f"| CPU per box, 1 box: controller / on the box | {s['cpu_s']['controller']} s / {s['cpu_s']['boxes']} s | |")
    for row in r["fleet"]:
        if row.get("canary", "100%") == "100%" and row["n"] > 1:
            cpu = row["cpu_s_per_box"]
            lines.append(f"| CPU per box, N={row['n']}: controller / on the boxes | {cpu['controller']} s / {cpu['boxes']} s | |")
    lines.append(f"| peak controller memory (max RSS) | {r['peak_rss_mib']} MiB | |")
    if r.get("ssh"):
        lines += ssh_table(r["ssh"]).splitlines()[2:]
    return "\n".join(lines)


def ssh_table(ssh: dict) -> str:
    """The SSH rows: one activation over SSH + sudo next to a local one, measured back to back."""
    return "\n".join([
        "| measurement | value | target |",
        "|---|---|---|",
        f"| activation, local connection / over SSH with sudo (1 box) | {ssh['activation_local_s']} s /"
        f" {ssh['activation_ssh_s']} s ({ssh['ssh_vs_local']}x) | |",
        f"| controller CPU, local / SSH | {ssh['controller_cpu_local_s']} s / {ssh['controller_cpu_ssh_s']} s | |",
    ])


if __name__ == "__main__":
    sys.exit(main())
