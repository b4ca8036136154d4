# -*- coding: utf-8 -*-
# Copyright: (c) 2025, GPT-Hedge operations
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Pure functions turning loaded state surfaces into runtime facts and checks.

Inputs are the already-loaded JSON objects (dicts, or None when a surface
could not be read).  Nothing here touches the file system except
``read_runtime_surfaces``, which only reads.

Every check function returns ``{ok, value, threshold, reason}`` where ``ok``
is True/False, or None when the data is absent (not checked) or the check is
disabled.  Each incident hook's evaluation is a separate function so that it
can be reused on its own.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import math
import os
import time

from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_json import (
    DEFAULT_MAX_BYTES,
    format_path,
    get_path,
    load_json_checked,
)
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_time import (
    DEFAULT_MAX_SKEW,
    age_seconds,
    future_problem,
    parse_timestamp,
)
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_versions import normalize_version

# logical name -> default file name under the state dir
RUNTIME_FILES = {
    'nav': 'nav.json',
    'nav_state': 'nav_state.json',
    'kpis': 'kpis_v7.json',
    'diagnostics': 'diagnostics.json',
    'risk_snapshot': 'risk_snapshot.json',
    'router_health': 'router_health.json',
    'engine_metadata': 'engine_metadata.json',
    'factor_diagnostics': 'factor_diagnostics.json',
}

# The keys the runtime facts read, per logical surface (None: the whole
# document). An unusable number (NaN, Infinity, out of range) at or under one
# of them is an invalid value of the runtime facts.
RUNTIME_READS = {
    'nav': ('nav', 'nav_usd', 'updated_ts', 'updated_at', 'ts'),
    'nav_state': ('nav_total', 'nav', 'nav_usd', 'total_equity', 'nav_age_s', 'dd_state', 'drawdown', 'updated_ts',
                  'updated_at', 'ts'),
    'kpis': ('portfolio', 'vol_regime'),
    'diagnostics': ('runtime_diagnostics',),
    'risk_snapshot': None,
    'router_health': None,
    'engine_metadata': None,
    'factor_diagnostics': ('weights', 'factor_weights', 'orthogonalization_enabled'),
}

# Options of the runtime checks: hedge_verify's `runtime`.
RUNTIME_OPTIONS = dict(
    files=dict(type='dict', default={}),
    exit_coverage_min=dict(type='float', default=0.9),
    router_quality_min=dict(type='float', default=0.5),
    max_underwater_without_tp_sl=dict(type='int', default=0),
    check_nav_jump=dict(type='bool', default=True),
    check_dd_flap=dict(type='bool', default=True),
    check_router_idle=dict(type='bool', default=True),
)

CHECK_NAMES = ('engine_version', 'exit_coverage', 'underwater_without_tp_sl', 'router_quality',
               'router_idle', 'nav_jump', 'dd_flap', 'valid_values')

EXIT_PIPELINE = 'runtime_diagnostics.exit_pipeline'

_TRUE_STRINGS = ('true', 'yes', 'on', '1', 'active', 'triggered', 'detected', 'breach', 'breached')


# ---------------------------------------------------------------- helpers

def read_runtime_surfaces(state_dir, files=None, max_bytes=DEFAULT_MAX_BYTES):
    """Read the surfaces the runtime facts need.

    Returns ``(docs, errors, invalid)``: ``docs`` maps logical name -> dict or
    None, ``errors`` maps file name -> load error (``missing``, ``not a regular
    file (...)``, ``too large: ...``, ``malformed JSON: ...``), ``invalid``
    lists ``<file>: <key>: <problem>`` for every unusable number at a key the
    facts read (RUNTIME_READS; such numbers are read as null).
    """
    names = dict(RUNTIME_FILES)
    names.update(files or {})
    docs = {}
    errors = {}
    invalid = []
    for logical, filename in names.items():
        path = filename if os.path.isabs(filename) else os.path.join(state_dir, filename)
        data, error, found = load_json_checked(path, max_bytes)
        docs[logical] = data
        if error:
            errors[filename] = error
        reads = RUNTIME_READS.get(logical)
        for segments, problem in found:
            if reads is None or segments[0] in reads:
                invalid.append('%s: %s: %s' % (filename, format_path(segments), problem))
    return docs, errors, invalid


def load_runtime_surfaces(state_dir, files=None, max_bytes=DEFAULT_MAX_BYTES):
    """``(docs, errors)`` of ``read_runtime_surfaces``."""
    docs, errors, _invalid = read_runtime_surfaces(state_dir, files, max_bytes)
    return docs, errors


def to_number(value):
    """float(value) for finite numbers and numeric strings; None otherwise (bools are not numbers,
    NaN, infinities and integers beyond the range of a float are not usable)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        if isinstance(value, (int, float)):
            number = float(value)
        elif isinstance(value, str):
            number = float(value.strip().rstrip('%'))
        else:
            return None
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def to_int(value):
    number = to_number(value)
    return None if number is None else int(number)


def to_flag(value):
    """Read a bool-ish anomaly/idle value.

    bool -> itself; None -> None; number -> > 0; string -> known true words;
    list -> non-empty; dict -> its ``active``/``triggered``/``detected``/``idle`` member.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value > 0
    if isinstance(value, str):
        return value.strip().lower() in _TRUE_STRINGS
    if isinstance(value, list):
        return len(value) > 0
    if isinstance(value, dict):
        for key in ('active', 'triggered', 'detected', 'idle', 'breach', 'value'):
            if key in value:
                return to_flag(value[key])
        return None
    return None


def fraction(value):
    """A ratio given as a fraction 0..1 or a percentage (> 1) -> fraction."""
    number = to_number(value)
    if number is None:
        return None
    return number / 100.0 if number > 1 else number


def _first(*values):
    for value in values:
        if value is not None:
            return value
    return None


def _get(doc, expr):
    return get_path(doc, expr) if isinstance(doc, dict) else None


def _check(ok, value, threshold, reason):
    return {'ok': ok, 'value': value, 'threshold': threshold, 'reason': reason}


# ---------------------------------------------------------------- facts

def engine_version_facts(engine_metadata):
    """``(version, key)`` from either engine_metadata shape; ``(None, None)`` if absent."""
    if not isinstance(engine_metadata, dict):
        return None, None
    for key in ('engine_version', 'version'):
        value = engine_metadata.get(key)
        if value is not None and value != '':
            return str(value), key
    return None, None


def nav_facts(nav_state, nav, now=None, max_skew=DEFAULT_MAX_SKEW):
    """``{nav, nav_source, nav_age_s, invalid}`` from nav_state (preferred) or nav.json.

    A NAV timestamp more than ``max_skew`` s in the future gives no age and an
    ``invalid`` entry naming the file and key."""
    now = time.time() if now is None else now
    value = to_number(_get(nav_state, 'nav_total || nav || nav_usd || total_equity'))
    source = 'nav_state.json' if value is not None else None
    doc = nav_state
    if value is None:
        value = to_number(_get(nav, 'nav || nav_usd'))
        source = 'nav.json' if value is not None else None
        doc = nav
    age = None
    invalid = []
    if source == 'nav_state.json':
        age = to_number(nav_state.get('nav_age_s'))
    if age is None and source is not None:
        key = next((k for k in ('updated_ts', 'updated_at', 'ts') if doc.get(k) is not None), None)
        ts = parse_timestamp(doc.get(key)) if key else None
        problem = future_problem(ts, now, max_skew)
        if problem:
            invalid.append('%s: %s: %s' % (source, key, problem))
        else:
            age = age_seconds(ts, now)
    return {'nav': value, 'nav_source': source, 'nav_age_s': None if age is None else round(age, 1),
            'invalid': invalid}


def dd_facts(nav_state, risk_snapshot, kpis=None):
    """``{dd_state, dd_pct}``; dd_state may be a string or ``{"state": ...}``."""
    raw = _first(_get(nav_state, 'dd_state'), _get(risk_snapshot, 'dd_state'))
    if isinstance(raw, dict):
        raw = _first(raw.get('state'), raw.get('dd_state'), raw.get('current'))
    dd_state = None if raw is None else str(raw)
    dd_pct = to_number(_first(_get(nav_state, 'drawdown.dd_pct'), _get(risk_snapshot, 'drawdown.dd_pct'),
                              _get(kpis, 'portfolio.dd_pct')))
    return {'dd_state': dd_state, 'dd_pct': dd_pct}


def _metric(value, keys):
    """A router metric that may be a number or an object with one of ``keys``."""
    if isinstance(value, dict):
        for key in keys:
            if key in value:
                return to_number(value[key])
        return None
    return to_number(value)


def _router_parts(router_health):
    """``(rh, glob, per_symbol, summary)`` of either router_health shape ({} for absent parts)."""
    rh = router_health if isinstance(router_health, dict) else {}
    glob = _first(_get(rh, 'router_health.global'), rh.get('global'), rh.get('summary'))
    glob = glob if isinstance(glob, dict) else {}
    per_symbol = _first(_get(rh, 'router_health.per_symbol'), rh.get('per_symbol'), rh.get('symbols'))
    per_symbol = per_symbol if isinstance(per_symbol, dict) else {}
    summary = rh.get('summary') if isinstance(rh.get('summary'), dict) else {}
    return rh, glob, per_symbol, summary


def _count(value):
    if isinstance(value, (list, dict)):
        return len(value)
    return to_int(value)


def router_facts(router_health, diagnostics=None, quality_min=0.5):
    """Router summary from either router_health shape (+ diagnostics liveness)."""
    rh, glob, per_symbol, summary = _router_parts(router_health)

    score = rh.get('router_health_score')
    quality = _first(to_number(glob.get('quality_score')), to_number(glob.get('quality')),
                     _metric(score, ('quality_score', 'score', 'global')))

    slippage = _first(_metric(glob.get('avg_slippage_bps'), ()),
                      _metric(glob.get('slippage'), ('avg_bps', 'avg_slippage_bps', 'mean_bps', 'bps', 'avg')))
    latency = _first(_metric(glob.get('avg_latency_ms'), ()),
                     _metric(glob.get('latency'), ('avg_ms', 'avg_latency_ms', 'mean_ms', 'ms', 'avg')))
    if per_symbol and (slippage is None or latency is None):
        slips = [to_number(v.get('avg_slippage_bps')) for v in per_symbol.values() if isinstance(v, dict)]
        lats = [to_number(v.get('avg_latency_ms')) for v in per_symbol.values() if isinstance(v, dict)]
        slips = [s for s in slips if s is not None]
        lats = [x for x in lats if x is not None]
        if slippage is None and slips:
            slippage = round(sum(slips) / len(slips), 3)
        if latency is None and lats:
            latency = round(sum(lats) / len(lats), 3)
    # older shape: the summary block carries the averages and the symbol count
    if slippage is None:
        slippage = to_number(summary.get('avg_slippage_bps'))
    if latency is None:
        latency = to_number(summary.get('avg_latency_ms'))

    tracked = len(per_symbol) if per_symbol else _count(_first(glob.get('symbols_tracked'),
                                                               rh.get('symbols_tracked'),
                                                               summary.get('symbols_tracked'),
                                                               summary.get('symbols')))

    idle = to_flag(_get(diagnostics, 'runtime_diagnostics.liveness.idle_router'))
    if idle is None:
        idle = to_flag(_first(glob.get('idle'), glob.get('router_idle'), rh.get('idle')))

    degraded = []
    threshold = to_number(quality_min)
    for symbol in sorted(per_symbol):
        info = per_symbol[symbol]
        q = to_number(info.get('quality_score') if isinstance(info, dict) else info)
        if q is not None and threshold is not None and q < threshold:
            degraded.append(symbol)

    return {
        'quality': quality,
        'symbols_tracked': tracked,
        'avg_slippage_bps': slippage,
        'avg_latency_ms': latency,
        'idle': idle,
        'degraded_symbols': degraded,
    }


def router_shape(router_health):
    """V(nested) (v7.6 ``router_health.global``), V(top-level) (older ``global``/``summary``/score) or None."""
    if not isinstance(router_health, dict):
        return None
    if isinstance(router_health.get('router_health'), dict):
        return 'nested'
    if any(key in router_health for key in ('global', 'summary', 'router_health_score', 'per_symbol')):
        return 'top-level'
    return None


def router_symbol_facts(router_health):
    """Per-symbol router table, sorted by symbol: ``[{symbol, quality, avg_slippage_bps, avg_latency_ms}]``."""
    per_symbol = _router_parts(router_health)[2]
    rows = []
    for symbol in sorted(per_symbol):
        info = per_symbol[symbol]
        if isinstance(info, dict):
            rows.append({'symbol': symbol, 'quality': to_number(info.get('quality_score')),
                         'avg_slippage_bps': to_number(info.get('avg_slippage_bps')),
                         'avg_latency_ms': to_number(info.get('avg_latency_ms'))})
        else:
            rows.append({'symbol': symbol, 'quality': to_number(info), 'avg_slippage_bps': None,
                         'avg_latency_ms': None})
    return rows


def router_idle_flags(router_health, diagnostics):
    """Both router idle flags: ``{liveness, router_global}`` (each True/False/None)."""
    glob = _router_parts(router_health)[1]
    return {
        'liveness': to_flag(_get(diagnostics, 'runtime_diagnostics.liveness.idle_router')),
        'router_global': to_flag(_first(glob.get('idle'), glob.get('router_idle'),
                                        router_health.get('idle') if isinstance(router_health, dict) else None)),
    }


def vol_regime_facts(risk_snapshot, kpis=None):
    """Vol regime (V(LOW), V(NORMAL), V(ELEVATED), V(HIGH)) from risk_snapshot (or kpis); None if not reported."""
    raw = _first(_get(risk_snapshot, 'vol_regime'), _get(risk_snapshot, 'regime.vol'),
                 _get(risk_snapshot, 'regimes.vol_regime'), _get(kpis, 'vol_regime'),
                 _get(kpis, 'portfolio.vol_regime'))
    if isinstance(raw, dict):
        raw = _first(raw.get('regime'), raw.get('state'), raw.get('label'))
    return None if raw is None or raw == '' else str(raw)


def exit_facts(diagnostics):
    """Exit-pipeline summary from diagnostics.runtime_diagnostics.exit_pipeline."""
    pipeline = _get(diagnostics, EXIT_PIPELINE)
    pipeline = pipeline if isinstance(pipeline, dict) else {}
    open_positions = to_int(pipeline.get('open_positions_count'))
    registered = to_int(pipeline.get('tp_sl_registered_count'))
    coverage = fraction(pipeline.get('tp_sl_coverage_pct'))
    if coverage is None and open_positions is not None and registered is not None:
        coverage = 1.0 if open_positions == 0 else min(1.0, float(registered) / open_positions)
    breakdown = pipeline.get('mismatch_breakdown')
    return {
        'coverage': None if coverage is None else round(coverage, 6),
        'coverage_pct': None if coverage is None else round(coverage * 100.0, 1),
        'open_positions': open_positions,
        'tp_sl_registered': registered,
        'tp_sl_missing': to_int(pipeline.get('tp_sl_missing_count')),
        'underwater_without_tp_sl': to_int(pipeline.get('underwater_without_tp_sl_count')),
        'ledger_registry_mismatch': pipeline.get('ledger_registry_mismatch'),
        'mismatch_breakdown': breakdown if isinstance(breakdown, dict) else None,
    }


def _anomaly_pct(value):
    if isinstance(value, dict):
        return to_number(_first(value.get('pct'), value.get('jump_pct'), value.get('nav_jump_pct'),
                                value.get('value_pct')))
    return None


def anomaly_facts(risk_snapshot):
    """Anomaly flags, or None when risk_snapshot has no ``anomalies`` block (v7.5)."""
    if not isinstance(risk_snapshot, dict):
        return None
    anomalies = risk_snapshot.get('anomalies')
    if not isinstance(anomalies, dict):
        return None
    nav_jump = anomalies.get('nav_jump')
    return {
        'nav_jump': to_flag(nav_jump),
        'nav_jump_pct': _first(_anomaly_pct(nav_jump), to_number(anomalies.get('nav_jump_pct'))),
        'dd_flap': to_flag(anomalies.get('dd_flap')),
        'var_limit_breach': to_flag(anomalies.get('var_limit_breach')),
        'cvar_limit_breach': to_flag(anomalies.get('cvar_limit_breach')),
    }


ANOMALY_NAMES = ('nav_jump', 'var_limit_breach', 'cvar_limit_breach', 'dd_flap')


def active_anomalies(anomalies):
    """Names of active anomalies (from ``anomaly_facts``): [] when none, None when not reported."""
    if not isinstance(anomalies, dict):
        return None
    return [name for name in ANOMALY_NAMES if anomalies.get(name) is True]


def factor_weight_facts(factor_diagnostics):
    """``weights`` or ``factor_weights.weights`` ({} when absent)."""
    weights = _get(factor_diagnostics, 'weights || factor_weights.weights')
    return dict(weights) if isinstance(weights, dict) else {}


def missing_v76_fields(docs):
    """v7.6-only fields absent from surfaces that were loaded."""
    missing = []
    risk = docs.get('risk_snapshot')
    if isinstance(risk, dict) and not isinstance(risk.get('anomalies'), dict):
        missing.append('risk_snapshot.anomalies')
    pipeline = _get(docs.get('diagnostics'), EXIT_PIPELINE)
    if isinstance(docs.get('diagnostics'), dict) and not (
            isinstance(pipeline, dict) and isinstance(pipeline.get('mismatch_breakdown'), dict)):
        missing.append('diagnostics.exit_pipeline.mismatch_breakdown')
    return missing


def build_runtime(docs, errors=None, quality_min=0.5, now=None, invalid=None, max_skew=DEFAULT_MAX_SKEW):
    """The ``runtime`` fact dict from loaded surfaces (``invalid``: of ``read_runtime_surfaces``)."""
    version, version_key = engine_version_facts(docs.get('engine_metadata'))
    nav = nav_facts(docs.get('nav_state'), docs.get('nav'), now=now, max_skew=max_skew)
    dd = dd_facts(docs.get('nav_state'), docs.get('risk_snapshot'), docs.get('kpis'))
    risk = docs.get('risk_snapshot') if isinstance(docs.get('risk_snapshot'), dict) else {}
    return {
        'engine_version': version,
        'engine_version_key': version_key,
        'nav': nav['nav'],
        'nav_source': nav['nav_source'],
        'nav_age_s': nav['nav_age_s'],
        'dd_state': dd['dd_state'],
        'dd_pct': dd['dd_pct'],
        'risk_mode': risk.get('risk_mode'),
        'circuit_breaker': risk.get('circuit_breaker'),
        'router': router_facts(docs.get('router_health'), docs.get('diagnostics'), quality_min),
        'exit': exit_facts(docs.get('diagnostics')),
        'anomalies': anomaly_facts(docs.get('risk_snapshot')),
        'factor_weights': factor_weight_facts(docs.get('factor_diagnostics')),
        'missing_fields': missing_v76_fields(docs),
        'surface_errors': dict(errors or {}),
        'invalid_values': list(invalid or []) + nav['invalid'],
    }


# ---------------------------------------------------------------- checks

def check_engine_version(runtime, expected):
    """Running engine version equals ``expected`` (a leading v is ignored)."""
    value = runtime.get('engine_version')
    if expected is None or expected == '':
        return _check(None, value, None, 'no expected_version given')
    if value is None:
        return _check(None, None, expected, 'engine_metadata.json has no engine_version/version')
    ok = normalize_version(value) == normalize_version(expected)
    return _check(ok, value, expected, 'engine version %s %s expected %s'
                  % (value, '==' if ok else '!=', expected))


def check_exit_coverage(runtime, minimum):
    """Exit TP/SL coverage >= ``minimum`` (fraction; > 1 read as percent); no positions passes."""
    threshold = fraction(minimum)
    exit_info = runtime.get('exit') or {}
    value = exit_info.get('coverage')
    if value is None:
        return _check(None, None, threshold, 'exit_pipeline has no tp_sl_coverage_pct')
    if exit_info.get('open_positions') == 0:
        return _check(True, value, threshold, 'no open positions (coverage %.1f %%)' % (value * 100))
    ok = value >= threshold
    return _check(ok, value, threshold, 'exit coverage %.1f %% %s %.1f %%'
                  % (value * 100, '>=' if ok else '<', threshold * 100))


def check_underwater_without_tp_sl(runtime, maximum):
    """Underwater positions without TP/SL <= ``maximum``."""
    value = (runtime.get('exit') or {}).get('underwater_without_tp_sl')
    if value is None:
        return _check(None, None, maximum, 'exit_pipeline has no underwater_without_tp_sl_count')
    ok = value <= maximum
    return _check(ok, value, maximum, '%d underwater position(s) without TP/SL %s %d'
                  % (value, '<=' if ok else '>', maximum))


def check_router_quality(runtime, minimum):
    """Router global quality >= ``minimum`` (incident hook: router degraded)."""
    threshold = to_number(minimum)
    router = runtime.get('router') or {}
    value = router.get('quality')
    if value is None:
        return _check(None, None, threshold, 'router_health has no global quality score')
    ok = value >= threshold
    reason = 'router quality %s %s %s' % (round(value, 4), '>=' if ok else '<', threshold)
    if router.get('degraded_symbols'):
        reason += ' (degraded: %s)' % ', '.join(router['degraded_symbols'][:10])
    return _check(ok, value, threshold, reason)


def check_router_idle(runtime, enabled=True):
    """Router not idle (incident hook: router idle)."""
    value = (runtime.get('router') or {}).get('idle')
    if not enabled:
        return _check(None, value, False, 'router idle check disabled')
    if value is None:
        return _check(None, None, False, 'no router idle flag in diagnostics or router_health')
    return _check(not value, value, False, 'router is idle' if value else 'router is not idle')


def check_nav_jump(runtime, enabled=True):
    """No nav_jump anomaly (incident hook: NAV anomaly)."""
    anomalies = runtime.get('anomalies')
    value = anomalies.get('nav_jump') if isinstance(anomalies, dict) else None
    if not enabled:
        return _check(None, value, False, 'nav_jump check disabled')
    if anomalies is None:
        return _check(None, None, False, 'risk_snapshot has no anomalies block')
    if value is None:
        return _check(None, None, False, 'risk_snapshot.anomalies has no nav_jump flag')
    pct = anomalies.get('nav_jump_pct')
    detail = '' if pct is None else ' (%s %%)' % pct
    return _check(not value, value, False, ('nav_jump anomaly active%s' % detail) if value else 'no nav_jump anomaly')


def check_dd_flap(runtime, enabled=True):
    """No dd_flap anomaly (incident hook: DD state transitions)."""
    anomalies = runtime.get('anomalies')
    value = anomalies.get('dd_flap') if isinstance(anomalies, dict) else None
    if not enabled:
        return _check(None, value, False, 'dd_flap check disabled')
    if anomalies is None:
        return _check(None, None, False, 'risk_snapshot has no anomalies block')
    if value is None:
        return _check(None, None, False, 'risk_snapshot.anomalies has no dd_flap flag')
    return _check(not value, value, False, 'dd_flap anomaly active (dd_state %s)' % runtime.get('dd_state')
                  if value else 'no dd_flap anomaly')


def check_valid_values(runtime):
    """No unusable number (NaN, Infinity, out of range, a timestamp in the future) where the facts read."""
    invalid = runtime.get('invalid_values') or []
    if not invalid:
        return _check(True, [], [], 'no invalid values')
    return _check(False, list(invalid), [], 'invalid value(s): %s' % '; '.join(invalid))


def run_checks(runtime, expected_version=None, exit_coverage_min=0.9, router_quality_min=0.5,
               max_underwater_without_tp_sl=0, check_nav_jump_enabled=True, check_dd_flap_enabled=True,
               check_router_idle_enabled=True):
    """All checks; returns ``(checks, failed_checks, unchecked)``."""
    checks = {
        'engine_version': check_engine_version(runtime, expected_version),
        'exit_coverage': check_exit_coverage(runtime, exit_coverage_min),
        'underwater_without_tp_sl': check_underwater_without_tp_sl(runtime, max_underwater_without_tp_sl),
        'router_quality': check_router_quality(runtime, router_quality_min),
        'router_idle': check_router_idle(runtime, check_router_idle_enabled),
        'nav_jump': check_nav_jump(runtime, check_nav_jump_enabled),
        'dd_flap': check_dd_flap(runtime, check_dd_flap_enabled),
        'valid_values': check_valid_values(runtime),
    }
    failed = [name for name in CHECK_NAMES if checks[name]['ok'] is False]
    unchecked = [name for name in CHECK_NAMES if checks[name]['ok'] is None]
    return checks, failed, unchecked


def evaluate_runtime(state_dir, files=None, expected_version=None, exit_coverage_min=0.9, router_quality_min=0.5,
                     max_underwater_without_tp_sl=0, check_nav_jump_enabled=True, check_dd_flap_enabled=True,
                     check_router_idle_enabled=True, now=None, max_skew=DEFAULT_MAX_SKEW,
                     max_bytes=DEFAULT_MAX_BYTES):
    """Read the runtime surfaces, build the facts and run every check: the
    answer of hedge_verify's runtime part."""
    docs, errors, invalid = read_runtime_surfaces(state_dir, files, max_bytes)
    runtime = build_runtime(docs, errors, quality_min=router_quality_min, now=now, invalid=invalid,
                            max_skew=max_skew)
    checks, failed, unchecked = run_checks(
        runtime,
        expected_version=expected_version,
        exit_coverage_min=exit_coverage_min,
        router_quality_min=router_quality_min,
        max_underwater_without_tp_sl=max_underwater_without_tp_sl,
        check_nav_jump_enabled=check_nav_jump_enabled,
        check_dd_flap_enabled=check_dd_flap_enabled,
        check_router_idle_enabled=check_router_idle_enabled,
    )
    if failed:
        msg = '; '.join('%s: %s' % (name, checks[name]['reason']) for name in failed)
    else:
        msg = 'no failed checks'
    if unchecked:
        msg += ' (unchecked: %s)' % ', '.join(unchecked)
    return {'runtime': runtime, 'checks': checks, 'failed_checks': failed, 'unchecked': unchecked, 'msg': msg}
