"""The performance targets of issue #20, computed from one bench run's measurements.

`build()` turns what bench/bench.py measured (one dict per measurement, each
with the machine's load when it started) into `targets: {<name>: {value,
reference, ratio, goal, met, ...}}`; `table()` prints them; `readme_block()`
is the README's performance summary, made from bench/latest.json only.
bench/README.md explains each row.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"

# name: (what it measures, unit, what the reference is, goal: (value or ratio, at most)).
TARGETS = {
    "engine_downtime": ("engine downtime in an activation: stop to the new engine's first state publish", "s",
                        "the same for a bare `supervisorctl restart hedge:`", ("ratio", 1.2)),
    "bad_release_exposure": ("bad-release exposure: failed gate to the previous release's programs RUNNING", "s",
                             "a bare `supervisorctl restart hedge:` on the same box", ("ratio", 1.5)),
    "time_to_restore": ("time to restore: failed gate to the previous release verified", "s",
                        "the floor: restart to the first fresh surface", ("ratio", 2.0)),
    "detect_stale_surface": ("time to detect a stale surface: restart to GATE verify.surfaces_fresh FAILED", "s",
                             "the floor: restart to the first fresh surface", ("ratio", 2.0)),
    "controller_cpu_per_box": ("controller CPU for one activation (ansible-playbook and its workers)", "CPU-s",
                               None, ("value", 3.0)),
    "controller_cpu_flat_n12": ("controller CPU per box at N=12 (one batch)", "CPU-s",
                                "the same at N=1", ("ratio", 1.2)),
    "activation_vs_runbook": ("activation with every gate (1 box), wall time", "s",
                              "the bare runbook (bench/runbook_baseline.sh)", ("ratio", 2.5)),
    "ci_wall_quiet": ("clean-clone `.ci/run` wall time on a quiet 2-core machine (not measured by bench)", "s",
                      None, ("value", 900.0)),
}


def loadavg() -> list[float]:
    """The machine's 1, 5 and 15 minute load averages (`uptime`)."""
    return [round(x, 2) for x in os.getloadavg()]


def target(name: str, value: float | None, reference: float | None = None, *, load_at: list | None = None,
           reference_load: list | None = None, detail: dict | None = None, error: str | None = None) -> dict:
    """One target's row: the ratio and whether the goal is met follow from value and reference."""
    _what, unit, reference_is, (on, limit) = TARGETS[name]
    ratio = value / reference if value is not None and reference else None
    measured = ratio if on == "ratio" else value
    row = {"value": None if value is None else round(value, 2), "unit": unit,
           "reference": None if reference is None else round(reference, 2), "reference_is": reference_is,
           "ratio": None if ratio is None else round(ratio, 2), "goal": {"of": on, "max": limit},
           "met": measured is not None and error is None and measured <= limit,
           "machine": {"load": load_at, **({"reference_load": reference_load} if reference_load else {})}}
    if error:
        row["error"] = error
    if detail:
        row["detail"] = detail
    return row


def ci_wall(path: Path, seconds: float | None = None) -> dict:
    """The CI figure bench cannot measure itself: `--ci-wall SECONDS`, else the hand-written bench/ci_wall.json
    ({"seconds", "measured", "source"}). A missing or unusable file gives a row with its reason."""
    if seconds is not None:
        return dict(target("ci_wall_quiet", seconds), source="--ci-wall",
                    detail={"given_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    try:
        data = json.loads(path.read_text())
        value = float(data["seconds"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return target("ci_wall_quiet", None, error="%s unusable (%s: %s); pass --ci-wall SECONDS"
                      % (path.name, type(exc).__name__, exc))
    return dict(target("ci_wall_quiet", value), source="bench/%s" % path.name,
                detail={"measured": data.get("measured", "?"), "note": data.get("source", "?")})


def build(m: dict, ci: dict) -> dict:
    """Targets from the measurements `m` (keys single, baseline, floor, rollback, detect, fleet) of one run."""
    single, baseline, floor, rollback, detect = m["single"], m["baseline"], m["floor"], m["rollback"], m["detect"]
    fleet = {row["n"]: row for row in m["fleet"] if row.get("canary", "100%") == "100%"}
    out = {}
    out["engine_downtime"] = target(
        "engine_downtime", single.get("engine_downtime_s"), floor.get("bare_restart_downtime_s"),
        load_at=single["load"], reference_load=floor["load"],
        error=None if single.get("engine_downtime_s") is not None else "no stop and state publish in the box's logs")
    out["bad_release_exposure"] = target(
        "bad_release_exposure", rollback.get("failed_gate_to_restarted_s"), rollback.get("bare_restart_s"),
        load_at=rollback["load"], reference_load=rollback.get("bare_restart_load"),
        detail={"failed_gate": rollback.get("failed_gate"),
                "failed_gate_to_bad_release_stopped_s": rollback.get("failed_gate_to_stop_s")},
        error=None if rollback.get("failed_gate_to_restarted_s") is not None else "no failed gate or no restart after it")
    out["time_to_restore"] = target(
        "time_to_restore", rollback.get("failed_gate_to_verified_rollback_s"), floor["floor_s"],
        load_at=rollback["load"], reference_load=floor["load"], detail={"outcomes": rollback.get("outcomes")},
        error=None if rollback.get("failed_gate_to_verified_rollback_s") is not None else "no verified rollback")
    wrong_gate = detect.get("failed_gate") != "verify.surfaces_fresh"
    out["detect_stale_surface"] = target(
        "detect_stale_surface", detect.get("restart_to_failed_gate_s"), floor["floor_s"],
        load_at=detect["load"], reference_load=floor["load"],
        detail={"failed_gate": detect.get("failed_gate"), "fault": "stale_timestamps",
                "activation_s": detect.get("activation_s")},
        error=(("failed at %s, not verify.surfaces_fresh" % detect["failed_gate"]) if detect.get("failed_gate")
               else "no gate failed: the stale surfaces were not detected") if wrong_gate else None)
    out["controller_cpu_per_box"] = target("controller_cpu_per_box", single["cpu_s"]["controller"],
                                           load_at=single["load"])
    big = max(fleet) if fleet else None
    if 1 in fleet and big and big > 1:
        out["controller_cpu_flat_n12"] = target(
            "controller_cpu_flat_n12", fleet[big]["cpu_s_per_box"]["controller"],
            fleet[1]["cpu_s_per_box"]["controller"], load_at=fleet[big].get("load"),
            reference_load=fleet[1].get("load"), detail={"n": big, "t1_s": fleet[1]["seconds"],
                                                         "tn_s": fleet[big]["seconds"]},
            error=None if big == 12 else "largest fleet measured is N=%d, not 12" % big)
    else:
        out["controller_cpu_flat_n12"] = target("controller_cpu_flat_n12", None,
                                                error="needs fleet runs at N=1 and N=12 (--fleet 1,12)")
    out["activation_vs_runbook"] = target("activation_vs_runbook", single["activation_s"], baseline["baseline_s"],
                                          load_at=single["load"], reference_load=baseline["load"])
    out["ci_wall_quiet"] = ci
    return out


def _num(value: float | None, unit: str) -> str:
    return "-" if value is None else f"{value:g} {unit}"


def _value(row: dict) -> str:
    """The value, and where it comes from when bench did not measure it."""
    return _num(row["value"], row["unit"]) + (f" (from {row['source']})" if row.get("source") else "")


def _goal(name: str) -> str:
    _what, unit, _ref, (on, limit) = TARGETS[name]
    return f"ratio <= {limit:g}" if on == "ratio" else f"<= {limit:g} {unit}"


def table(targets: dict) -> str:
    """The targets as printed by bench.py: value, reference, ratio, goal, met and the load."""
    lines = ["| target | value | reference | ratio | goal | met | load (1 min) |", "|---|---|---|---|---|---|---|"]
    for name in TARGETS:
        row = targets.get(name)
        if row is None:
            continue
        ref = _num(row["reference"], row["unit"])
        if row["reference"] is not None:
            ref += f" ({row['reference_is']})"
        load_at = (row.get("machine") or {}).get("load")
        met = "yes" if row["met"] else ("no: " + row["error"] if row.get("error") else "no")
        lines.append(f"| {name} | {_value(row)} | {ref} |"
                     f" {'-' if row['ratio'] is None else str(row['ratio']) + 'x'} | {_goal(name)} | {met} |"
                     f" {'-' if not load_at else load_at[0]} |")
    return "\n".join(lines)


def readme_block(latest: dict) -> str:
    """The README's performance summary (between the markers), from bench/latest.json alone."""
    targets = latest.get("targets") or {}
    run = latest.get("targets_run") or {}
    loads = sorted(row["machine"]["load"][0] for row in targets.values() if (row.get("machine") or {}).get("load"))
    lines = [BEGIN,
             f"Performance on the simulated box (`bench/bench.py`, {run.get('mode', '?')} run of"
             f" {run.get('measured_at', '?')}, {run.get('cpus', '?')} cores, load"
             f" {f'{loads[0]:g}-{loads[-1]:g}' if loads else '?'}; figures in `bench/latest.json`, each row explained"
             " in [bench/README.md](bench/README.md)):",
             "",
             "| target | measured | goal | met |",
             "|---|---|---|---|"]
    for name in TARGETS:
        row = targets.get(name)
        if row is None:
            continue
        measured = _value(row)
        if row["ratio"] is not None:
            measured += f" ({row['ratio']}x)"
        lines.append(f"| {name} | {measured} | {_goal(name)} | {'yes' if row['met'] else 'no'} |")
    cpu = (targets.get("controller_cpu_per_box") or {}).get("value")
    flat = targets.get("controller_cpu_flat_n12") or {}
    at_n = f", {flat['value']:g} per box at N=12" if flat.get("value") is not None else ""
    lines += ["",
              f"One controller pays about {'?' if cpu is None else f'{cpu:g}'} CPU-seconds per box activated{at_n};"
              " past what its cores allow, run the rollout on AWX / Ansible Automation Platform",
              "with job slicing ([docs/fleet.md](docs/fleet.md)).",
              END]
    return "\n".join(lines)


def readme_with_block(readme: str, block: str) -> str:
    """README text with the block between the markers replaced (a clear error when they are missing)."""
    return readme.replace(readme_block_of(readme), block, 1)


def readme_block_of(readme: str) -> str:
    """The block between the markers, markers included, as it stands in the README."""
    start, end = readme.find(BEGIN), readme.find(END)
    if start < 0 or end < start:
        raise ValueError("README.md has no %s ... %s block" % (BEGIN, END))
    return readme[start:end + len(END)]
