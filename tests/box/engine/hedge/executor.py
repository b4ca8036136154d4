"""Simulated GPT-Hedge executor (test double of the real engine's executor).

Run from the checkout root (``python hedge/executor.py``). At start it reads
``VERSION``, prints ``Engine version: <VERSION>`` and one ``WARNING`` line on
stderr, then every ``HEDGE_SIM_LOOP_S`` seconds (default 1.0) writes the
per-loop state surfaces into ``logs/state/`` atomically and prints a
``state_publish ok surfaces=N ts=...`` line. The intel surfaces are written at
boot and then every ``HEDGE_SIM_INTEL_S`` seconds (default 300), and again
whenever the active fault set changes.

Shapes follow the running VERSION: v7.6 writes the engine's v7.6 contract
(``anomalies``, ``mismatch_breakdown``, nested ``router_health``,
``dd_state`` object, ``engine_metadata {engine_version, updated_ts}``); v7.5
writes the older shapes (no ``anomalies``/``mismatch_breakdown``, top-level
router ``global``/``summary``/``router_health_score``, ``dd_state`` string,
``engine_metadata {version, started_ts}``).

Timestamp forms (every contract form is exercised by some surface):

=======================  =========================================  ==================
surface                  key                                        form
=======================  =========================================  ==================
nav.json                 updated_ts                                 epoch float
positions_state.json     updated_at                                 ISO-8601 ``Z``
positions_ledger.json    updated_at                                 ISO-8601 ``+00:00``
kpis_v7.json             updated_at                                 epoch int
diagnostics.json         runtime_diagnostics.exit_pipeline.         epoch ms
                         last_exit_scan_ts
risk_snapshot.json       updated_ts                                 string of digits
router_health.json       updated_ts                                 epoch float
engine_metadata.json     updated_ts (v7.6) / started_ts (v7.5)      ISO ``Z`` / epoch int
symbol_scores_v6.json    updated_ts                                 ISO-8601 ``+00:00``
factor_diagnostics.json  updated_ts                                 epoch float
rv_momentum.json         updated_ts                                 epoch ms
nav_state.json           updated_ts (v7.6) / updated_at (v7.5)      epoch ms / ISO ``Z``
=======================  =========================================  ==================

Fault behaviour is documented in the ``simfaults`` module docstring (the
fault file is re-read every loop).
"""
import json
import math
import os
import random
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simfaults  # noqa: E402
from statefiles import (  # noqa: E402
    STATE_DIR, atomic_write_json, atomic_write_text, ts_digits, ts_float, ts_int,
    ts_iso_offset, ts_iso_z, ts_ms,
)

STALE_AGE_S = 3600
LONG_UPTIME_S = 600
WRONG_VERSION = "v7.4"
BASE_NAV = 10000.0
ROUTER_SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
# symbol, side, qty, entry price
POSITIONS = (
    ("BTCUSDT", "LONG", 0.02, 64000.0),
    ("ETHUSDT", "SHORT", 0.5, 3100.0),
    ("SOLUSDT", "LONG", 8.0, 145.0),
    ("BNBUSDT", "LONG", 1.5, 590.0),
    ("XRPUSDT", "SHORT", 900.0, 0.52),
)
FACTOR_WEIGHTS = {"momentum": 0.35, "carry": 0.2, "value": 0.15, "volatility": 0.3}
PER_LOOP_FILES = (
    "nav.json", "positions_state.json", "positions_ledger.json", "kpis_v7.json",
    "diagnostics.json", "risk_snapshot.json", "router_health.json", "engine_metadata.json",
)
INTEL_FILES = ("symbol_scores_v6.json", "factor_diagnostics.json", "rv_momentum.json")
MALFORMED_FILES = ("nav.json", "risk_snapshot.json")


def version_tuple(version):
    """``"v7.6"`` -> ``(7, 6)``; unparsable -> ``(0,)``."""
    try:
        return tuple(int(p) for p in version.lstrip("vV").split("."))
    except ValueError:
        return (0,)


def read_version(root="."):
    """Return the one-line VERSION of the checkout at ``root``."""
    with open(os.path.join(root, "VERSION"), encoding="utf-8") as fh:
        return fh.read().strip()


class Ctx:
    """Everything one publish round depends on (pure data: builders are pure)."""

    def __init__(self, version, faults=(), now=None, started=None, loop=0, nav=BASE_NAV):
        self.version = version
        self.faults = set(faults)
        self.loop = loop
        self.nav = nav
        self.now = time.time() if now is None else now
        self.started = self.now if started is None else started
        shift = STALE_AGE_S if "stale_timestamps" in self.faults else 0
        self.t = self.now - shift  # the time written into the surfaces
        uptime = LONG_UPTIME_S if "long_uptime" in self.faults else 0
        self.boot_t = self.started - shift - uptime

    @property
    def v76(self):
        return version_tuple(self.version) >= (7, 6)

    def has(self, fault):
        return fault in self.faults

    def dd_state_name(self):
        if self.has("dd_flap"):
            return "DRAWDOWN" if self.loop % 2 == 0 else "RECOVERY"
        return "NORMAL"

    def dd_state(self):
        """dd_state in the version's form: object in v7.6, plain string before."""
        name = self.dd_state_name()
        return {"state": name} if self.v76 else name

    def dd_pct(self):
        return 6.4 if self.has("dd_flap") else 1.25


def _positions(ctx):
    """Positions with marks drifting a little around entry."""
    rows = []
    for i, (sym, side, qty, entry) in enumerate(POSITIONS):
        drift = 0.004 * math.sin((ctx.loop + 3 * i) / 5.0)
        if ctx.has("exit_coverage_low") and i >= 3:
            drift = 0.03 if side == "SHORT" else -0.03  # underwater, no TP/SL
        mark = round(entry * (1 + drift), 6)
        sign = 1 if side == "LONG" else -1
        rows.append({
            "symbol": sym, "side": side, "qty": qty, "entry_price": entry,
            "mark_price": mark, "unrealized_pnl": round(sign * (mark - entry) * qty, 4),
        })
    return rows


def build_nav(ctx):
    return {"nav": round(ctx.nav, 2), "nav_usd": round(ctx.nav, 2), "updated_ts": ts_float(ctx.t)}


def build_positions_state(ctx):
    return {"positions": _positions(ctx), "updated_at": ts_iso_z(ctx.t)}


def build_positions_ledger(ctx):
    entries = []
    for i, (sym, side, qty, entry) in enumerate(POSITIONS):
        up, down = (1.04, 0.97) if side == "LONG" else (0.96, 1.03)
        tp, sl = round(entry * up, 6), round(entry * down, 6)
        if ctx.has("exit_coverage_low") and i >= 3:
            tp = sl = None
        entries.append({"symbol": sym, "side": side, "qty": qty, "entry_price": entry, "tp": tp, "sl": sl})
    return {"entries": entries, "updated_at": ts_iso_offset(ctx.t)}


def build_kpis(ctx):
    return {
        "portfolio": {"nav": round(ctx.nav, 2), "dd_pct": ctx.dd_pct(), "var_nav_pct": 1.8, "cvar_nav_pct": 2.6},
        "updated_at": ts_int(ctx.t),
    }


def build_diagnostics(ctx):
    low = ctx.has("exit_coverage_low")
    n_open = len(POSITIONS)
    registered = n_open - 2 if low else n_open
    exit_pipeline = {
        "last_exit_scan_ts": ts_ms(ctx.t),
        "last_exit_trigger_ts": ts_iso_z(ctx.t - 42),
        "last_router_event_ts": ts_float(ctx.t - 1.5),
        "open_positions_count": n_open,
        "tp_sl_registered_count": registered,
        "tp_sl_missing_count": n_open - registered,
        "underwater_without_tp_sl_count": 2 if low else 0,
        "tp_sl_coverage_pct": 0.6 if low else 1.0,
        "ledger_registry_mismatch": low,
    }
    if ctx.v76:
        exit_pipeline["mismatch_breakdown"] = {
            "missing_ledger_positions": 0, "ghost_ledger_entries": 0,
            "missing_tp_sl_entries": 3 if low else 0, "stale_tp_sl_entries": 0,
        }
    idle_router = ctx.has("router_idle")
    signals = 40 + 3 * ctx.loop
    vetoes = 6 + ctx.loop // 4
    return {"runtime_diagnostics": {
        "exit_pipeline": exit_pipeline,
        "veto_counters": {
            "by_reason": {"min_notional": vetoes // 2, "risk_cap": vetoes - vetoes // 2},
            "total_signals": signals, "total_orders": signals - vetoes, "total_vetoes": vetoes,
            "last_signal_ts": ts_float(ctx.t - 0.5), "last_order_ts": ts_iso_offset(ctx.t - 2),
            "last_veto_ts": ts_ms(ctx.t - 9),
        },
        "liveness": {
            "idle_signals": False, "idle_orders": False, "idle_exits": False, "idle_router": idle_router,
            "details": {
                "signals_idle_seconds": 0.5, "orders_idle_seconds": 2.0, "exits_idle_seconds": 42.0,
                "router_idle_seconds": 1800.0 if idle_router else 1.5,
            },
            "missing": {},
        },
    }}


def build_risk_snapshot(ctx):
    snap = {
        "updated_ts": ts_digits(ctx.t),
        "risk_mode": "NORMAL",
        "vol_regime": "NORMAL",
        "dd_state": ctx.dd_state(),
        "drawdown": {"dd_pct": ctx.dd_pct()},
        "circuit_breaker": {"active": False},
        "var": round(ctx.nav * 0.018, 2),
        "cvar": round(ctx.nav * 0.026, 2),
    }
    if ctx.v76 or ctx.has("nav_jump") or ctx.has("dd_flap"):
        snap["anomalies"] = {
            "nav_jump": ctx.has("nav_jump"), "nav_jump_pct": 12.5 if ctx.has("nav_jump") else 0.0,
            "var_limit_breach": False, "cvar_limit_breach": False, "dd_flap": ctx.has("dd_flap"),
        }
    return snap


def _router_quality(ctx):
    degraded = ctx.has("router_degraded")
    per_symbol = {}
    for i, sym in enumerate(ROUTER_SYMBOLS):
        quality = (0.35, 0.42, 0.82)[i] if degraded else (0.83, 0.8, 0.79)[i]
        per_symbol[sym] = {"quality_score": quality, "avg_slippage_bps": 1.8 + i, "avg_latency_ms": 110.0 + 15 * i}
    return (0.3 if degraded else 0.81), per_symbol


def build_router_health(ctx):
    quality, per_symbol = _router_quality(ctx)
    glob = {"quality_score": quality, "slippage": 2.1, "latency": 120.0, "twap_usage_ratio": 0.35,
            "idle": ctx.has("router_idle")}
    if ctx.v76:
        return {"updated_ts": ts_float(ctx.t), "router_health": {"global": glob, "per_symbol": per_symbol}}
    summary = {"symbols": len(per_symbol), "orders": 34 + 3 * ctx.loop, "avg_slippage_bps": 2.1,
               "avg_latency_ms": 120.0}
    return {"updated_ts": ts_float(ctx.t), "global": glob, "summary": summary, "router_health_score": quality}


def build_engine_metadata(ctx):
    version = WRONG_VERSION if ctx.has("wrong_engine_version") else ctx.version
    if ctx.v76:
        return {"engine_version": version, "updated_ts": ts_iso_z(ctx.t)}
    return {"version": version, "started_ts": ts_int(ctx.boot_t)}


def build_symbol_scores(ctx):
    symbols = {sym: {"hybrid_score": round(0.6 - 0.1 * i, 3)} for i, (sym, *_rest) in enumerate(POSITIONS)}
    return {"updated_ts": ts_iso_offset(ctx.t), "symbols": symbols}


def build_factor_diagnostics(ctx):
    return {
        "updated_ts": ts_float(ctx.t),
        "weights": dict(FACTOR_WEIGHTS),
        "factor_weights": {"weights": dict(FACTOR_WEIGHTS)},
        "factor_ir": {"momentum": 0.42, "carry": 0.18, "value": 0.11, "volatility": 0.27},
        "orthogonalization_enabled": True,
    }


def build_rv_momentum(ctx):
    symbols = {sym: {"rv_score": round(0.1 * (i - 2), 2), "momentum": round(0.05 * (2 - i), 2)}
               for i, (sym, *_rest) in enumerate(POSITIONS)}
    return {"updated_ts": ts_ms(ctx.t), "symbols": symbols}


BUILDERS = {
    "nav.json": build_nav,
    "positions_state.json": build_positions_state,
    "positions_ledger.json": build_positions_ledger,
    "kpis_v7.json": build_kpis,
    "diagnostics.json": build_diagnostics,
    "risk_snapshot.json": build_risk_snapshot,
    "router_health.json": build_router_health,
    "engine_metadata.json": build_engine_metadata,
    "symbol_scores_v6.json": build_symbol_scores,
    "factor_diagnostics.json": build_factor_diagnostics,
    "rv_momentum.json": build_rv_momentum,
}


def build_surfaces(ctx, intel=True):
    """Return ``{filename: object}`` for the per-loop (and intel) surfaces."""
    names = PER_LOOP_FILES + (INTEL_FILES if intel else ())
    return {name: BUILDERS[name](ctx) for name in names}


def publish(ctx, state_dir=STATE_DIR, intel=True):
    """Write the surfaces atomically; return how many were written."""
    surfaces = build_surfaces(ctx, intel=intel)
    for name, obj in surfaces.items():
        path = os.path.join(state_dir, name)
        if ctx.has("malformed_json") and name in MALFORMED_FILES:
            text = json.dumps(obj)
            atomic_write_text(path, text[: len(text) // 2])
        else:
            atomic_write_json(path, obj)
    return len(surfaces)


RUNNING_VERSION = []


def _terminate(signum, frame):
    if RUNNING_VERSION and "slow_stop" in simfaults.active_faults(RUNNING_VERSION[0]):
        print("executor: stopping slowly (fault slow_stop)", file=sys.stderr, flush=True)
        time.sleep(simfaults.SLOW_STOP_S)
    raise SystemExit(0)


def main():
    signal.signal(signal.SIGTERM, _terminate)
    version = read_version()
    RUNNING_VERSION.append(version)
    faults = simfaults.active_faults(version)
    if "crash_at_boot" in faults:
        raise RuntimeError("simulated crash at boot (fault crash_at_boot, VERSION %s)" % version)
    if "no_boot_line" not in faults:
        print("Engine version: %s" % version, flush=True)
    print("WARNING executor: trading against the simulated exchange (test double)", file=sys.stderr, flush=True)
    loop_s = float(os.environ.get("HEDGE_SIM_LOOP_S", "1.0"))
    intel_s = float(os.environ.get("HEDGE_SIM_INTEL_S", "300"))
    started = time.time()
    last_intel, intel_faults, loop = None, None, 0
    rng = random.Random()
    while True:
        faults = simfaults.active_faults(version)
        now = time.time()
        nav = BASE_NAV + 25.0 * math.sin(loop / 7.0) + rng.uniform(-5.0, 5.0)
        ctx = Ctx(version, faults, now=now, started=started, loop=loop, nav=nav)
        if "no_publish" not in faults:
            intel = last_intel is None or now - last_intel >= intel_s or faults != intel_faults
            count = publish(ctx, intel=intel)
            if intel:
                last_intel, intel_faults = now, faults
            print("state_publish ok surfaces=%d ts=%s" % (count, ts_iso_z(ctx.t)), flush=True)
            if "publish_errors" in faults:
                print("state_publish ERROR write failed: simulated I/O error (fault publish_errors)", flush=True)
        if "error_log" in faults:
            print("ERROR executor: simulated order failure (fault error_log)", file=sys.stderr, flush=True)
        if "exit_after_start" in faults and time.time() - started >= simfaults.EXIT_AFTER_START_S:
            print("executor: exiting %.0f s after start (fault exit_after_start)" % (time.time() - started),
                  file=sys.stderr, flush=True)
            sys.exit(1)
        loop += 1
        time.sleep(loop_s)


if __name__ == "__main__":
    main()
