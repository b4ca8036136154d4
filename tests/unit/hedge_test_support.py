# -*- coding: utf-8 -*-
"""Payloads and helpers shared by the gpt_hedge.activation unit tests (imported by conftest and tests)."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
COLLECTIONS_DIR = REPO_ROOT / 'collections'
MODULES_DIR = REPO_ROOT / 'plugins' / 'modules'

# A fixed "now" for the state payloads: 2025-11-25T10:40:00Z
NOW = 1764067200.0


class ModuleResult(dict):
    """The module's JSON answer plus the process' rc/stderr."""

    rc = 0
    stderr = ''


def parse_module_output(stdout, stderr, rc):
    try:
        data = json.loads(stdout)
    except ValueError:
        raise AssertionError('module did not answer JSON (rc=%s)\nstdout:\n%s\nstderr:\n%s' % (rc, stdout, stderr))
    result = ModuleResult(data)
    result.rc = rc
    result.stderr = stderr
    return result


def tree_snapshot(*directories):
    """Every entry under ``directories`` (the directories too): mtime, size, mode and content digest, to
    compare before and after a run that must write nothing."""
    snap = {}
    for directory in directories:
        for root, dirs, files in os.walk(directory):
            for name in dirs + files:
                path = os.path.join(root, name)
                st = os.lstat(path)
                digest = None
                if os.path.isfile(path):
                    with open(path, 'rb') as handle:
                        digest = hashlib.sha256(handle.read()).hexdigest()
                snap[path] = (st.st_mtime_ns, st.st_size, st.st_mode, digest)
        st = os.stat(directory)
        snap[str(directory)] = (st.st_mtime_ns, st.st_mode)
    return snap


def free_port_url():
    """A health URL on a local port nothing listens on (the request is refused at once)."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    return 'http://127.0.0.1:%d/healthz' % port


READ_PARAMS = ('now', 'max_skew', 'max_bytes', 'fail_fast')


def run_verify_part(run_module, part, state, check_mode=False, extra_pythonpath=(), expected_version='v7.6',
                    popen=False, **options):
    """hedge_verify's ``part`` (``state``: the surfaces check, ``runtime``: the runtime facts and
    thresholds) of ``state``, read once: no executor log and no dashboard (those parts fail as facts
    and nothing waits, unless fail_fast is false), no sanity script. ``options`` are the part's options,
    plus now, max_skew, max_bytes and fail_fast. Returns the part's facts with the run's rc, stderr and changed; the run's own result
    (failed, msg) when it refused its parameters; with ``popen`` the running module process."""
    params = dict(state_dir=str(state), expected_version=expected_version, now=NOW, poll_interval=0.1,
                  logs=dict(path=str(Path(str(state)).parent / 'no-executor.out.log'), timeout=0),
                  healthz=dict(url=free_port_url(), timeout=0, request_timeout=1),
                  sanity=dict(enabled=False), state=dict(timeout=0))
    params.update((name, options.pop(name)) for name in READ_PARAMS if name in options)
    params[part] = dict(params.get(part, {}), **options)
    if popen:
        return run_module('hedge_verify', params, check_mode=check_mode, extra_pythonpath=extra_pythonpath, popen=True)
    result = run_module('hedge_verify', params, check_mode=check_mode, extra_pythonpath=extra_pythonpath)
    if result.get('failed') or part not in result:
        return result
    facts = ModuleResult(result[part])
    facts.rc, facts.stderr = result.rc, result.stderr
    facts['changed'] = result['changed']
    if 'warnings' in result:
        facts['warnings'] = result['warnings']
    return facts


def wait_until_polling(proc, timeout=30.0):
    """Block until the module process ``proc`` (started with ``popen=True``) sleeps
    between two polls: its kernel wait channel is a nanosleep, so it has started
    and looked at least once. What a test then writes is written after the
    module began to wait, however slowly the module started (Linux /proc)."""
    wchan = Path('/proc/%d/wchan' % proc.pid)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            stdout, stderr = proc.communicate()
            raise AssertionError('the module exited before it polled (rc=%s)\n%s\n%s' % (proc.returncode, stdout, stderr))
        try:
            if 'nanosleep' in wchan.read_text():
                return
        except OSError:
            pass
        time.sleep(0.005)
    raise AssertionError('the module did not start polling within %s s' % timeout)


def finish_module(proc, timeout=60):
    """Wait for a ``popen=True`` module run and return its parsed answer."""
    stdout, stderr = proc.communicate(timeout=timeout)
    return parse_module_output(stdout, stderr, proc.returncode)


# ------------------------------------------------------------------ state payloads

def iso_z(epoch):
    import datetime
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.%fZ')


def v76_payloads(now=NOW, loop_age=5.0, intel_age=300.0):
    """Real-looking v7.6 state surfaces, using a different timestamp form per file."""
    t = now - loop_age
    ti = now - intel_age
    return {
        'nav.json': {'nav': 10234.56, 'nav_usd': 10234.56, 'updated_ts': t},
        'nav_state.json': {
            'nav_total': 10234.56, 'nav_age_s': 4.2, 'dd_state': {'state': 'NORMAL', 'since_ts': t - 86400},
            'drawdown': {'dd_pct': 1.8, 'peak_nav': 10420.0}, 'updated_ts': iso_z(t),
        },
        'positions_state.json': {
            'positions': [
                {'symbol': 'BTCUSDT', 'side': 'LONG', 'qty': 0.01, 'entry_price': 96000.0, 'mark_price': 97010.5,
                 'unrealized_pnl': 10.1},
                {'symbol': 'ETHUSDT', 'side': 'SHORT', 'qty': 0.2, 'entry_price': 3600.0, 'mark_price': 3620.0,
                 'unrealized_pnl': -4.0},
            ],
            'updated_at': iso_z(t),
        },
        'positions_ledger.json': {
            'entries': [
                {'symbol': 'BTCUSDT', 'side': 'LONG', 'qty': 0.01, 'entry_price': 96000.0, 'tp': 99000.0, 'sl': 94000.0},
                {'symbol': 'ETHUSDT', 'side': 'SHORT', 'qty': 0.2, 'entry_price': 3600.0, 'tp': 3400.0, 'sl': 3700.0},
            ],
            'updated_at': int(t * 1000),
        },
        'kpis_v7.json': {
            'portfolio': {'nav': 10234.56, 'dd_pct': 1.8, 'var_nav_pct': 2.1, 'cvar_nav_pct': 3.4},
            'updated_at': '%d' % int(t),
        },
        'diagnostics.json': {
            'runtime_diagnostics': {
                'exit_pipeline': {
                    'last_exit_scan_ts': t, 'last_exit_trigger_ts': t - 600, 'last_router_event_ts': t - 20,
                    'open_positions_count': 2, 'tp_sl_registered_count': 2, 'tp_sl_missing_count': 0,
                    'underwater_without_tp_sl_count': 0, 'tp_sl_coverage_pct': 1.0,
                    'ledger_registry_mismatch': False,
                    'mismatch_breakdown': {'missing_ledger_positions': 0, 'ghost_ledger_entries': 0,
                                           'missing_tp_sl_entries': 0, 'stale_tp_sl_entries': 0},
                },
                'veto_counters': {'by_reason': {'min_notional': 3}, 'total_signals': 40, 'total_orders': 12,
                                  'total_vetoes': 3, 'last_signal_ts': t, 'last_order_ts': t - 60,
                                  'last_veto_ts': t - 300},
                'liveness': {'idle_signals': False, 'idle_orders': False, 'idle_exits': False,
                             'idle_router': False, 'details': {'router_idle_seconds': 20}, 'missing': {}},
            },
        },
        'risk_snapshot.json': {
            'updated_ts': t, 'risk_mode': 'NORMAL', 'dd_state': 'NORMAL', 'drawdown': {'dd_pct': 1.8},
            'circuit_breaker': {'active': False}, 'var': 0.021, 'cvar': 0.034,
            'anomalies': {'nav_jump': False, 'var_limit_breach': False, 'cvar_limit_breach': False,
                          'dd_flap': False},
        },
        'router_health.json': {
            'updated_ts': t,
            'router_health': {
                'global': {'quality_score': 0.82, 'slippage': 2.4, 'latency': 140.0, 'twap_usage_ratio': 0.3},
                'per_symbol': {
                    'BTCUSDT': {'quality_score': 0.91, 'avg_slippage_bps': 1.9, 'avg_latency_ms': 120.0},
                    'ETHUSDT': {'quality_score': 0.41, 'avg_slippage_bps': 6.3, 'avg_latency_ms': 210.0},
                },
            },
        },
        'engine_metadata.json': {'engine_version': 'v7.6', 'updated_ts': t},
        'symbol_scores_v6.json': {'updated_ts': ti, 'symbols': {'BTCUSDT': {'hybrid_score': 0.61},
                                                                'ETHUSDT': {'hybrid_score': -0.2}}},
        'factor_diagnostics.json': {
            'updated_ts': ti, 'weights': {'momentum': 0.4, 'carry': 0.35, 'value': 0.25},
            'factor_weights': {'weights': {'momentum': 0.4, 'carry': 0.35, 'value': 0.25}},
            'factor_ir': {'momentum': 0.3}, 'orthogonalization_enabled': True,
        },
        'rv_momentum.json': {'updated_ts': ti, 'pairs': {}},
    }


def v75_payloads(now=NOW, loop_age=5.0, intel_age=300.0):
    """v7.5-shaped surfaces: runbook engine_metadata shape, older router shape, no v7.6-only fields."""
    data = v76_payloads(now, loop_age, intel_age)
    t = now - loop_age
    del data['risk_snapshot.json']['anomalies']
    del data['diagnostics.json']['runtime_diagnostics']['exit_pipeline']['mismatch_breakdown']
    data['engine_metadata.json'] = {'version': 'v7.5', 'started_ts': t}
    data['router_health.json'] = {'updated_ts': t, 'global': {'quality_score': 0.77, 'idle': False},
                                  'summary': {'symbols_tracked': 2}, 'router_health_score': 0.77}
    ns = data['nav_state.json']
    del ns['updated_ts']
    ns['updated_at'] = t
    ns['dd_state'] = 'NORMAL'
    del data['factor_diagnostics.json']['weights']
    return data


def write_state(directory, payloads, drop=(), raw=None):
    """Write payloads (dict file -> object) into ``directory``; ``raw`` maps file -> literal text."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, payload in payloads.items():
        if name in drop:
            continue
        (directory / name).write_text(json.dumps(payload))
    for name, text in (raw or {}).items():
        (directory / name).write_text(text)
    return directory
