#!/usr/bin/env python3
"""GPT-Hedge v7.6 runtime sanity check (simulated engine).

Usage: ``python scripts/runtime_sanity_check_v7_6.py --state-dir logs/state``

Prints the runbook summary (NAV State, DD State, Router Quality, Exit
Coverage, Factor Weights) and exits 0 when every required surface exists and
parses as JSON, 1 otherwise. v7.6-only fields (``anomalies``,
``mismatch_breakdown``) that are missing are reported as WARN, not failures,
so the check tolerates state written by a v7.5 engine. Thresholds are printed
for the operator; they do not change the exit status.

Simulator fault ``sanity_fail`` (``hedge/simfaults.py``): active for the
VERSION checked out where the state dir lives (``<checkout>/logs/state``), it
adds a FAIL, so the check fails against the live state of that release.
"""
import argparse
import json
import os
import sys
import time
from datetime import datetime, timezone

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "hedge"))
import simfaults  # noqa: E402  (the simulator's fault switches)

REQUIRED = (
    "nav.json", "nav_state.json", "positions_state.json", "positions_ledger.json", "kpis_v7.json",
    "diagnostics.json", "risk_snapshot.json", "router_health.json", "engine_metadata.json",
    "symbol_scores_v6.json", "factor_diagnostics.json",
)
OPTIONAL = ("rv_momentum.json",)


def parse_ts(value):
    """Epoch seconds from any contract timestamp form (None if unreadable)."""
    if isinstance(value, str):
        if value.strip().isdigit():
            value = int(value)
        else:
            try:
                dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            except ValueError:
                return None
            return (dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)).timestamp()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value / 1000.0 if value > 1e12 else float(value)
    return None


def load(state_dir, name, problems, required=True):
    path = os.path.join(state_dir, name)
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        if required:
            problems.append("%s: missing" % name)
        else:
            print("WARN  %s: missing (optional)" % name)
    except (OSError, ValueError) as exc:
        problems.append("%s: unreadable (%s)" % (name, exc))
    return None


def live_checkout_version(state_dir):
    """VERSION of the checkout whose ``logs/state`` is ``state_dir`` (None if unreadable)."""
    path = os.path.join(os.path.abspath(state_dir), os.pardir, os.pardir, "VERSION")
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read().strip() or None
    except OSError:
        return None


def dd_name(value):
    return value.get("state") if isinstance(value, dict) else value


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state-dir", default="logs/state")
    args = parser.parse_args(argv)
    problems = []
    s = {name: load(args.state_dir, name, problems) for name in REQUIRED}
    for name in OPTIONAL:
        load(args.state_dir, name, problems, required=False)
    print("=== GPT-Hedge v7.6 runtime sanity check (state dir %s) ===" % args.state_dir)

    nav_state = s["nav_state.json"] or {}
    nav = next((nav_state.get(k) for k in ("nav_total", "nav", "nav_usd", "total_equity") if k in nav_state), None)
    updated = parse_ts(nav_state.get("updated_ts", nav_state.get("updated_at")))
    age = "%.1fs" % (time.time() - updated) if updated else "n/a"
    print("NAV State: nav=%s nav_age_s=%s written %s ago" % (nav, nav_state.get("nav_age_s"), age))

    risk = s["risk_snapshot.json"] or {}
    print("DD State: %s (dd_pct=%s, risk_mode=%s)" % (
        dd_name(risk.get("dd_state", nav_state.get("dd_state"))),
        (risk.get("drawdown") or {}).get("dd_pct"), risk.get("risk_mode")))

    router = s["router_health.json"] or {}
    glob = (router.get("router_health") or {}).get("global") or router.get("global") or {}
    quality = glob.get("quality_score", router.get("router_health_score"))
    print("Router Quality: %s (idle=%s)" % (quality, glob.get("idle", False)))

    exit_pipeline = ((s["diagnostics.json"] or {}).get("runtime_diagnostics") or {}).get("exit_pipeline") or {}
    coverage = exit_pipeline.get("tp_sl_coverage_pct")
    shown = "%.1f%%" % (coverage * 100) if isinstance(coverage, (int, float)) else "n/a"
    print("Exit Coverage: %s (underwater without TP/SL: %s)" % (
        shown, exit_pipeline.get("underwater_without_tp_sl_count")))

    factors = s["factor_diagnostics.json"] or {}
    weights = factors.get("weights") or (factors.get("factor_weights") or {}).get("weights") or {}
    print("Factor Weights: %s" % (", ".join("%s=%s" % kv for kv in sorted(weights.items())) or "n/a"))

    if "anomalies" in risk:
        print("Anomalies: %s" % json.dumps(risk["anomalies"], sort_keys=True))
    elif s["risk_snapshot.json"] is not None:
        print("WARN  risk_snapshot.anomalies missing (pre-v7.6 writer)")
    if "mismatch_breakdown" in exit_pipeline:
        print("Mismatch Breakdown: %s" % json.dumps(exit_pipeline["mismatch_breakdown"], sort_keys=True))
    elif s["diagnostics.json"] is not None:
        print("WARN  diagnostics exit_pipeline.mismatch_breakdown missing (pre-v7.6 writer)")

    live_version = live_checkout_version(args.state_dir)
    if "sanity_fail" in simfaults.active_faults(live_version):
        problems.append("simulated sanity failure (fault sanity_fail, live VERSION %s)" % live_version)

    for problem in problems:
        print("FAIL  %s" % problem)
    print("RESULT: %s" % ("FAIL" if problems else "OK"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
