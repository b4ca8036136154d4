"""The six state-contract tests: surfaces built in-process, keys and timestamps."""
import json
import time

import pytest

import executor
import sync_state
from statefiles import parse_ts

NOW = time.time()


@pytest.fixture
def ctx(version):
    return executor.Ctx(version, now=NOW, started=NOW - 30, loop=3)


def assert_fresh(value):
    ts = parse_ts(value)
    assert ts is not None, "unreadable timestamp %r" % (value,)
    assert abs(ts - NOW) < 120


def test_nav_and_nav_state(ctx, version):
    nav = executor.build_nav(ctx)
    assert isinstance(nav["nav"], float) and isinstance(nav["nav_usd"], float)
    assert_fresh(nav["updated_ts"])
    state = sync_state.build_nav_state(version, nav["nav"], parse_ts(nav["updated_ts"]), now=NOW)
    assert state["nav_total"] == nav["nav"] and state["nav_age_s"] < 1
    assert_fresh(state.get("updated_ts", state.get("updated_at")))
    assert "dd_pct" in state["drawdown"]


def test_positions_and_ledger(ctx):
    positions = executor.build_positions_state(ctx)
    ledger = executor.build_positions_ledger(ctx)
    assert_fresh(positions["updated_at"])
    assert_fresh(ledger["updated_at"])
    for row in positions["positions"]:
        assert set(row) >= {"symbol", "side", "qty", "entry_price", "mark_price", "unrealized_pnl"}
    for row in ledger["entries"]:
        assert set(row) >= {"symbol", "side", "qty", "entry_price", "tp", "sl"}
    assert {p["symbol"] for p in positions["positions"]} == {e["symbol"] for e in ledger["entries"]}


def test_kpis(ctx):
    kpis = executor.build_kpis(ctx)
    assert set(kpis["portfolio"]) >= {"nav", "dd_pct", "var_nav_pct", "cvar_nav_pct"}
    assert_fresh(kpis["updated_at"])


def test_diagnostics(ctx):
    diag = executor.build_diagnostics(ctx)["runtime_diagnostics"]
    exits = diag["exit_pipeline"]
    assert_fresh(exits["last_exit_scan_ts"])
    assert 0.0 <= exits["tp_sl_coverage_pct"] <= 1.0
    assert exits["underwater_without_tp_sl_count"] == 0
    if ctx.v76:
        assert set(exits["mismatch_breakdown"]) == {
            "missing_ledger_positions", "ghost_ledger_entries", "missing_tp_sl_entries", "stale_tp_sl_entries"}
    assert set(diag["veto_counters"]) >= {"by_reason", "total_signals", "total_orders", "total_vetoes"}
    assert set(diag["liveness"]) >= {"idle_signals", "idle_orders", "idle_exits", "idle_router", "details"}


def test_risk_snapshot(ctx):
    snap = executor.build_risk_snapshot(ctx)
    assert_fresh(snap["updated_ts"])
    assert snap["risk_mode"] == "NORMAL"
    dd_state = snap["dd_state"]
    assert (dd_state["state"] if isinstance(dd_state, dict) else dd_state) == "NORMAL"
    assert snap["circuit_breaker"]["active"] is False
    if ctx.v76:
        assert snap["anomalies"]["nav_jump"] is False and snap["anomalies"]["dd_flap"] is False


def test_router_metadata_and_intel(ctx, version):
    surfaces = executor.build_surfaces(ctx, intel=True)
    json.dumps(surfaces)  # everything serialises
    router = surfaces["router_health.json"]
    glob = router["router_health"]["global"] if ctx.v76 else router["global"]
    assert glob["quality_score"] >= 0.5 and glob["idle"] is False
    meta = surfaces["engine_metadata.json"]
    assert meta.get("engine_version", meta.get("version")) == version
    for name in ("symbol_scores_v6.json", "factor_diagnostics.json", "rv_momentum.json"):
        assert_fresh(surfaces[name]["updated_ts"])
    factors = surfaces["factor_diagnostics.json"]
    assert factors["weights"] == factors["factor_weights"]["weights"]
