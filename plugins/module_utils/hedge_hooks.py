# -*- coding: utf-8 -*-
# Copyright: (c) 2025, GPT-Hedge operations
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runbook's incident hooks and dashboard checklist, evaluated from the live state surfaces (read only):
hedge_incidents returns evaluate()'s result, hedge_bake re-checks the hooks of severity fail during a bake."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import time

from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_json import DEFAULT_MAX_BYTES
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_runtime_facts import (
    RUNTIME_FILES,
    active_anomalies,
    build_runtime,
    check_exit_coverage,
    check_underwater_without_tp_sl,
    dd_facts,
    fraction,
    read_runtime_surfaces,
    router_idle_flags,
    router_shape,
    router_symbol_facts,
    to_flag,
    to_number,
    vol_regime_facts,
)
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_surfaces import evaluate_surfaces
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_time import DEFAULT_MAX_SKEW
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_versions import normalize_version
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_verdict import (
    UNVERIFIED,
    expected_release,
    headline,
    verdict,
)

HOOKS = ('nav_anomaly', 'router', 'exit_coverage', 'dd_transition', 'stale_surfaces')
DEFAULT_SEVERITY = {'nav_anomaly': 'fail', 'router': 'fail', 'exit_coverage': 'fail', 'dd_transition': 'warn',
                    'stale_surfaces': 'fail'}
SEVERITIES = ('warn', 'fail')
SCHEMA = 'gpt-hedge.incidents/v1'
PRE_V76 = 'not reported (pre-v7.6 engine)'
NO_ANOMALIES = 'risk_snapshot has no anomalies block (pre-v7.6 engine)'

NEXT_STEPS = {
    'nav_anomaly': [
        'Freeze new entries: set risk mode to DEFENSIVE',
        'Compare nav.json with the exchange balance',
        'Check config/risk_limits.json nav_anomalies settings',
        'Open an incident in the ops log',
    ],
    'router': [
        'Check exchange connectivity and order latency from the box',
        'Pause or reduce trading in the degraded symbols',
        'Restart the executor if the router stays idle (supervisorctl restart hedge:)',
        'Record router quality in the ops log',
    ],
    'exit_coverage': [
        'Register TP/SL for the uncovered positions or close them',
        'Reconcile positions_ledger.json with positions_state.json (mismatch_breakdown)',
        'Check the exit scanner (diagnostics.json last_exit_scan_ts)',
        'Record exit coverage in the ops log',
    ],
    'dd_transition': [
        'Watch dd_state on the dashboard for further DRAWDOWN/RECOVERY flips',
        'Check the drawdown thresholds in config/risk_limits.json',
        'Consider DEFENSIVE risk mode until dd_state settles',
        'Note the transition in the ops log',
    ],
    'stale_surfaces': [
        'Check that the engine runs: supervisorctl status hedge:',
        "Read the executor's log for state_publish errors and tracebacks",
        'Restart the engine if it is hung (supervisorctl restart hedge:)',
        "Do not trust the dashboard's values until the surfaces are fresh; note the gap in the ops log",
    ],
}


def one_line(text):
    return ' '.join(str(text).split())


def _fmt(value, digits=4):
    if value is None:
        return 'n/a'
    if isinstance(value, float):
        if value == int(value):
            return '%.1f' % value
        return ('%.*f' % (digits, value)).rstrip('0').rstrip('.')
    return str(value)


def _surface_problem(errors, logical):
    """'<file>: <error>' when the surface could not be loaded, else None."""
    filename = RUNTIME_FILES[logical]
    if filename in errors:
        return '%s: %s' % (filename, errors[filename])
    return None


def _finding(hook, title, seen, threshold, details):
    return {'hook': hook, 'severity': None, 'title': one_line(title), 'seen': one_line(seen), 'threshold': one_line(threshold),
            'next_steps': list(NEXT_STEPS[hook]), 'details': details}


# ---------------------------------------------------------------- hooks
# Each returns (status, reason, finding-or-None).

def _anomalies_block(docs, errors):
    """(anomalies dict, None) or (None, reason for unknown)."""
    problem = _surface_problem(errors, 'risk_snapshot')
    if problem:
        return None, problem
    risk = docs.get('risk_snapshot')
    if not isinstance(risk, dict):
        return None, 'risk_snapshot.json not loaded'
    if 'anomalies' not in risk or risk.get('anomalies') is None:
        return None, NO_ANOMALIES
    if not isinstance(risk['anomalies'], dict):
        return None, 'risk_snapshot.anomalies is malformed (%s, not an object)' % type(risk['anomalies']).__name__
    return risk['anomalies'], None


def _anomaly_flag(docs, errors, name):
    """(raw value, active bool, None) of risk_snapshot.anomalies.<name>, or
    (None, None, reason) when the hook cannot tell (an unknown status)."""
    anomalies, problem = _anomalies_block(docs, errors)
    if problem:
        return None, None, problem
    if name not in anomalies:
        return None, None, 'risk_snapshot.anomalies has no %s flag' % name
    raw = anomalies.get(name)
    active = to_flag(raw)
    if active is None:
        return raw, None, 'risk_snapshot.anomalies.%s unreadable: %s' % (name, one_line(repr(raw))[:80])
    return raw, active, None


def hook_nav_anomaly(runtime, docs, errors):
    raw, active, problem = _anomaly_flag(docs, errors, 'nav_jump')
    if problem:
        return 'unknown', problem, None
    facts = runtime.get('anomalies') or {}
    pct = facts.get('nav_jump_pct')
    if not active:
        return 'ok', 'no nav_jump anomaly', None
    magnitude = 'n/a' if pct is None else '%s %%' % _fmt(pct)
    details = {'nav_jump_pct': pct, 'nav': runtime.get('nav'), 'nav_source': runtime.get('nav_source'),
               'nav_age_s': runtime.get('nav_age_s'), 'nav_jump': raw}
    finding = _finding(
        'nav_anomaly',
        'NAV anomaly: nav_jump active (%s)' % magnitude,
        'risk_snapshot.anomalies.nav_jump active; jump %s; current NAV %s (%s)'
        % (magnitude, _fmt(runtime.get('nav'), 2), runtime.get('nav_source') or 'no NAV surface'),
        'no nav_jump anomaly (guard in config/risk_limits.json nav_anomalies)',
        details)
    return 'finding', 'nav_jump anomaly active (%s)' % magnitude, finding


def hook_router(runtime, docs, errors, quality_min):
    router = runtime.get('router') or {}
    quality = router.get('quality')
    flags = router_idle_flags(docs.get('router_health'), docs.get('diagnostics'))
    idle_values = [v for v in flags.values() if v is not None]
    idle = True if any(idle_values) else (False if idle_values else None)
    symbols = router_symbol_facts(docs.get('router_health'))
    degraded = [{'symbol': row['symbol'], 'quality': row['quality']} for row in symbols
                if row['quality'] is not None and row['quality'] < quality_min]
    low = quality is not None and quality < quality_min
    if not low and not idle:
        if quality is None:
            problem = _surface_problem(errors, 'router_health')
            return 'unknown', problem or 'router_health has no global quality score', None
        reason = 'router quality %s >= %s' % (_fmt(quality), _fmt(quality_min))
        reason += ', not idle' if idle is False else ', idle flag not reported'
        return 'ok', reason, None
    parts = []
    if low:
        parts.append('degraded (global quality %s < %s)' % (_fmt(quality), _fmt(quality_min)))
    if idle:
        parts.append('idle')
    degraded_text = (', '.join('%s (%s)' % (d['symbol'], _fmt(d['quality'])) for d in degraded)
                     or ('none' if symbols else 'per-symbol table not reported'))
    idle_seconds = to_number(_liveness_detail(docs.get('diagnostics'), 'router_idle_seconds'))
    seen = ('global quality %s; degraded symbols: %s; avg slippage %s bps; avg latency %s ms; idle %s'
            % (_fmt(quality), degraded_text, _fmt(router.get('avg_slippage_bps')), _fmt(router.get('avg_latency_ms')),
               'yes' if idle else ('no' if idle is False else 'not reported')))
    if idle and idle_seconds is not None:
        seen += ' (%s s)' % _fmt(idle_seconds, 1)
    details = {'quality': quality, 'quality_min': quality_min, 'idle': idle, 'idle_liveness': flags['liveness'],
               'idle_router_global': flags['router_global'], 'router_idle_seconds': idle_seconds,
               'degraded_symbols': degraded, 'symbols_tracked': router.get('symbols_tracked'),
               'avg_slippage_bps': router.get('avg_slippage_bps'), 'avg_latency_ms': router.get('avg_latency_ms')}
    finding = _finding('router', 'Router %s' % ' and '.join(parts), seen,
                       'router global quality >= %s and router not idle' % _fmt(quality_min), details)
    return 'finding', 'router %s' % ' and '.join(parts), finding


def _liveness_detail(diagnostics, key):
    liveness = diagnostics.get('runtime_diagnostics') if isinstance(diagnostics, dict) else None
    liveness = liveness.get('liveness') if isinstance(liveness, dict) else None
    details = liveness.get('details') if isinstance(liveness, dict) else None
    return details.get(key) if isinstance(details, dict) else None


def hook_exit_coverage(runtime, docs, errors, coverage_min, underwater_max):
    problem = _surface_problem(errors, 'diagnostics')
    if problem:
        return 'unknown', problem, None
    pipeline = docs['diagnostics'].get('runtime_diagnostics') if isinstance(docs.get('diagnostics'), dict) else None
    pipeline = pipeline.get('exit_pipeline') if isinstance(pipeline, dict) else None
    if not isinstance(pipeline, dict):
        return 'unknown', 'diagnostics.json has no runtime_diagnostics.exit_pipeline object', None
    cov = check_exit_coverage(runtime, coverage_min)
    under = check_underwater_without_tp_sl(runtime, underwater_max)
    checks = [cov, under]
    if not any(c['ok'] is False for c in checks):
        if all(c['ok'] is True for c in checks):
            return 'ok', '%s; %s' % (cov['reason'], under['reason']), None
        return 'unknown', '; '.join(c['reason'] for c in checks if c['ok'] is None), None
    exit_info = runtime.get('exit') or {}
    breakdown = exit_info.get('mismatch_breakdown')
    if breakdown is None:
        breakdown_text = 'mismatch_breakdown %s' % PRE_V76
    else:
        breakdown_text = 'mismatch_breakdown ' + (', '.join('%s=%s' % (k, breakdown[k]) for k in sorted(breakdown))
                                                  or 'empty')
    threshold = fraction(coverage_min)
    seen = ('exit coverage %s %%; %s open positions, TP/SL registered %s, missing %s; %s underwater without TP/SL; %s'
            % (_fmt(exit_info.get('coverage_pct'), 1), _fmt(exit_info.get('open_positions')),
               _fmt(exit_info.get('tp_sl_registered')), _fmt(exit_info.get('tp_sl_missing')),
               _fmt(exit_info.get('underwater_without_tp_sl')), breakdown_text))
    details = {'coverage_pct': exit_info.get('coverage_pct'), 'coverage_min_pct': round(threshold * 100.0, 1),
               'open_positions': exit_info.get('open_positions'),
               'tp_sl_registered': exit_info.get('tp_sl_registered'), 'tp_sl_missing': exit_info.get('tp_sl_missing'),
               'underwater_without_tp_sl': exit_info.get('underwater_without_tp_sl'),
               'max_underwater_without_tp_sl': underwater_max,
               'ledger_registry_mismatch': exit_info.get('ledger_registry_mismatch'),
               'mismatch_breakdown': breakdown if breakdown is not None else PRE_V76}
    reasons = [c['reason'] for c in checks if c['ok'] is False]
    parts = []
    if cov['ok'] is False:
        parts.append('coverage %s %% below %s %%' % (_fmt(exit_info.get('coverage_pct'), 1), _fmt(threshold * 100, 1)))
    if under['ok'] is False:
        parts.append('%s underwater position(s) without TP/SL' % exit_info.get('underwater_without_tp_sl'))
    finding = _finding('exit_coverage', 'Exit coverage: %s' % '; '.join(parts), seen,
                       'exit coverage >= %s %%; underwater positions without TP/SL <= %d'
                       % (_fmt(threshold * 100, 1), underwater_max), details)
    return 'finding', '; '.join(reasons), finding


def hook_dd_transition(runtime, docs, errors):
    _raw, active, problem = _anomaly_flag(docs, errors, 'dd_flap')
    if problem:
        return 'unknown', problem, None
    if not active:
        return 'ok', 'no dd_flap anomaly', None
    risk_dd = dd_facts(None, docs.get('risk_snapshot'))
    dd_state = risk_dd['dd_state'] if risk_dd['dd_state'] is not None else runtime.get('dd_state')
    dd_pct = risk_dd['dd_pct'] if risk_dd['dd_pct'] is not None else runtime.get('dd_pct')
    details = {'dd_state': dd_state, 'dd_pct': dd_pct,
               'nav_state_dd_state': dd_facts(docs.get('nav_state'), None)['dd_state']}
    finding = _finding(
        'dd_transition',
        'DD state flapping (dd_flap): now %s' % (dd_state or 'unknown'),
        'risk_snapshot.anomalies.dd_flap active; dd_state %s; drawdown %s %%' % (dd_state or 'n/a', _fmt(dd_pct)),
        'no dd_flap anomaly (stable dd_state)',
        details)
    return 'finding', 'dd_flap anomaly active (dd_state %s)' % (dd_state or 'n/a'), finding


def _fresh(fact):
    """Fresh, for a check long after the restart: the runbook shape of engine_metadata.json has no write time,
    only ``started_ts``, which does not age while the engine runs (RUNTIME_BOX_CONTRACT); its age is no warning."""
    return fact['fresh'] or (fact['status'] == 'stale' and fact['timestamp_key'] == 'started_ts')


def _not_ok_surfaces(freshness, required):
    """[(status, name, age_s)] of the surfaces (required or optional ones) whose status is not ok, in table order."""
    return [(fact['status'], name, fact['age_s']) for name, fact in freshness['surfaces'].items()
            if fact['status'] != 'ok' and not _fresh(fact) and fact['required'] is required]


def _surface_list(rows):
    """'stale: nav.json 160 s, kpis_v7.json 160 s; missing: diagnostics.json' (statuses in first-seen order)."""
    groups = {}
    for status, name, age in rows:
        groups.setdefault(status, []).append(name if status != 'stale' or age is None else '%s %d s' % (name, round(age)))
    return '; '.join('%s: %s' % (status, ', '.join(names)) for status, names in groups.items())


def hook_stale_surfaces(freshness):
    """A finding when no required per-loop surface is fresh: the engine publishes nothing.  A surface dated
    only by ``started_ts`` (no write time) tells nothing either way and is left out."""
    loop = [(name, fact) for name, fact in freshness['surfaces'].items()
            if fact['required'] and fact['cadence'] == 'loop' and fact['timestamp_key'] != 'started_ts']
    fresh = [name for name, fact in loop if fact['fresh']]
    limit = loop[0][1]['max_age'] if loop else None
    if fresh or not loop:
        return 'ok', '%d of %d per-loop surfaces fresh' % (len(fresh), len(loop)), None
    ages = [fact['age_s'] for _name, fact in loop if fact['age_s'] is not None]
    newest = min(ages) if ages else None
    rows = [(fact['status'], name, fact['age_s']) for name, fact in loop]
    details = {'surfaces': dict((name, {'status': fact['status'], 'age_s': fact['age_s']}) for name, fact in loop),
               'newest_age_s': newest, 'max_age': limit}
    finding = _finding(
        'stale_surfaces',
        'Engine not publishing: all %d per-loop surfaces stale or missing (newest %s)'
        % (len(loop), 'none readable' if newest is None else '%d s old, limit %s s' % (round(newest), _fmt(limit))),
        _surface_list(rows),
        'at least one per-loop surface written within %s s (every one, for the dashboard)' % _fmt(limit),
        details)
    return 'finding', 'no per-loop surface fresh (%s)' % _surface_list(rows), finding


# ---------------------------------------------------------------- dashboard

def _item(panel, ok, detail):
    return {'panel': panel, 'ok': ok, 'detail': one_line(detail)}


def dashboard_checklist(runtime, docs, errors, expected_version, healthz_status, run=None, freshness=None):
    """The checklist items.  With ``run`` (the activation or rollback that ends with
    this check), the system health item judges the engine against the release that
    run should have left live (expected_release), not ``expected_version``."""
    items = []
    risk = docs.get('risk_snapshot') if isinstance(docs.get('risk_snapshot'), dict) else None

    # regime strip: vol regime / dd state / risk mode badges
    vol = vol_regime_facts(risk, docs.get('kpis'))
    risk_mode = risk.get('risk_mode') if risk else None
    dd_state = dd_facts(None, risk)['dd_state'] if risk else None
    missing = [name for name, value in (('risk_mode', risk_mode), ('dd_state', dd_state)) if value in (None, '')]
    detail = 'vol regime %s; dd state %s; risk mode %s' % (vol or 'not reported', dd_state or 'missing',
                                                           risk_mode or 'missing')
    if risk is None:
        detail = '%s; %s' % (_surface_problem(errors, 'risk_snapshot') or 'risk_snapshot.json not loaded', detail)
    items.append(_item('regime_strip', not missing, detail))

    # NAV / risk panel: nav + dd + var/cvar
    portfolio = docs.get('kpis', {}).get('portfolio') if isinstance(docs.get('kpis'), dict) else None
    portfolio = portfolio if isinstance(portfolio, dict) else {}
    var = to_number(risk.get('var')) if risk else None
    cvar = to_number(risk.get('cvar')) if risk else None
    var = var if var is not None else to_number(portfolio.get('var_nav_pct'))
    cvar = cvar if cvar is not None else to_number(portfolio.get('cvar_nav_pct'))
    values = (('nav', runtime.get('nav')), ('dd', runtime.get('dd_pct')), ('var', var), ('cvar', cvar))
    missing = [name for name, value in values if value is None]
    items.append(_item('nav_risk_panel', not missing, '; '.join('%s %s' % (n, _fmt(v)) for n, v in values)
                       + ('; missing: %s' % ', '.join(missing) if missing else '')))

    # router health panel: global quality and per-symbol table
    router = runtime.get('router') or {}
    symbols = router_symbol_facts(docs.get('router_health'))
    shape = router_shape(docs.get('router_health'))
    if router.get('quality') is None:
        ok = False
        detail = _surface_problem(errors, 'router_health') or 'router_health has no global quality score'
    elif symbols:
        ok = True
        detail = 'global quality %s; per-symbol table %d symbols' % (_fmt(router['quality']), len(symbols))
    elif shape == 'top-level':
        ok = None
        detail = ('global quality %s; per-symbol table not reported (pre-v7.6 router_health shape, %s symbols)'
                  % (_fmt(router['quality']), _fmt(router.get('symbols_tracked'))))
    else:
        ok = False
        detail = 'global quality %s; per-symbol table missing' % _fmt(router['quality'])
    items.append(_item('router_health', ok, detail))

    # exit coverage panel: exit_pipeline present
    exit_info = runtime.get('exit') or {}
    pipeline = docs.get('diagnostics', {}).get('runtime_diagnostics') if isinstance(docs.get('diagnostics'),
                                                                                    dict) else None
    pipeline = pipeline.get('exit_pipeline') if isinstance(pipeline, dict) else None
    if isinstance(pipeline, dict):
        items.append(_item('exit_coverage', True, 'exit_pipeline present; coverage %s %%; mismatch_breakdown %s'
                           % (_fmt(exit_info.get('coverage_pct'), 1),
                              'present' if exit_info.get('mismatch_breakdown') is not None else PRE_V76)))
    else:
        items.append(_item('exit_coverage', False, _surface_problem(errors, 'diagnostics')
                           or 'diagnostics.json has no runtime_diagnostics.exit_pipeline'))

    # factor diagnostics panel: weights + orthogonalization flag
    weights = runtime.get('factor_weights') or {}
    factor = docs.get('factor_diagnostics') if isinstance(docs.get('factor_diagnostics'), dict) else None
    ortho = factor.get('orthogonalization_enabled') if factor else None
    ortho_text = 'not reported' if ortho is None else ('on' if to_flag(ortho) else 'off')
    if weights:
        items.append(_item('factor_diagnostics', True, 'weights %s; orthogonalization %s'
                           % (', '.join('%s=%s' % (k, _fmt(to_number(weights[k]))) for k in sorted(weights)),
                              ortho_text)))
    else:
        items.append(_item('factor_diagnostics', False, '%s; orthogonalization %s'
                           % (_surface_problem(errors, 'factor_diagnostics')
                              or 'factor_diagnostics has no weights', ortho_text)))

    # system health: engine version (+ expected) and healthz
    version = runtime.get('engine_version')
    ok = True
    parts = []
    if run is not None:
        expected_version = expected_release(run)
    if version is None:
        ok = False
        parts.append(_surface_problem(errors, 'engine_metadata') or 'engine_metadata has no engine_version/version')
    elif run is not None and (run['outcome'] in UNVERIFIED or not expected_version):
        ok = False
        parts.append('engine %s; no verified release: %s' % (version, headline(run)))
    elif expected_version:
        same = normalize_version(version) == normalize_version(expected_version)
        ok = ok and same
        parts.append('engine %s %s expected %s' % (version, '==' if same else '!=', expected_version))
        if run is not None:
            parts[-1] += ' (%s: %s)' % ('%s live as intended' % version if same else 'not the release that should be live',
                                        headline(run))
    else:
        parts.append('engine %s (no expected version given)' % version)
    if healthz_status is None:
        parts.append('healthz not measured')
    elif healthz_status < 1:
        ok = False
        parts.append('healthz no answer')
    else:
        ok = ok and healthz_status == 200
        parts.append('healthz %d' % healthz_status)
    items.append(_item('system_health', ok, '; '.join(parts)))

    # system health: no missing/stale surface warnings
    if freshness is not None:
        required = _not_ok_surfaces(freshness, True)
        optional = _not_ok_surfaces(freshness, False)
        if required:
            detail = 'surface warnings: %s' % _surface_list(required)
        else:
            detail = 'no missing/stale surface warnings (%d required surfaces fresh)' % sum(
                1 for fact in freshness['surfaces'].values() if fact['required'])
        if optional:
            detail += '; optional: %s' % _surface_list(optional)
        items.append(_item('surface_freshness', not required, detail))
    return items


# ---------------------------------------------------------------- module

def build_summary(runtime):
    router = runtime.get('router') or {}
    exit_info = runtime.get('exit') or {}
    return {
        'nav': runtime.get('nav'),
        'nav_age_s': runtime.get('nav_age_s'),
        'dd_state': runtime.get('dd_state'),
        'dd_pct': runtime.get('dd_pct'),
        'risk_mode': runtime.get('risk_mode'),
        'router_quality': router.get('quality'),
        'symbols_tracked': router.get('symbols_tracked'),
        'avg_slippage_bps': router.get('avg_slippage_bps'),
        'avg_latency_ms': router.get('avg_latency_ms'),
        'exit_coverage_pct': exit_info.get('coverage_pct'),
        'open_positions': exit_info.get('open_positions'),
        'underwater_without_tp_sl': exit_info.get('underwater_without_tp_sl'),
        'factor_weights': runtime.get('factor_weights') or {},
        'anomalies': active_anomalies(runtime.get('anomalies')),
        'engine_version': runtime.get('engine_version'),
    }


def _health_problems(freshness, failed, healthz_status):
    """Short health problems for the release verdict: healthz, surface warnings, incidents of severity fail."""
    problems = []
    if healthz_status is not None and healthz_status != 200:
        problems.append('healthz %s' % ('no answer' if healthz_status < 1 else healthz_status))
    warnings = len(_not_ok_surfaces(freshness, True))
    if warnings:
        problems.append('%d surface warning%s' % (warnings, '' if warnings == 1 else 's'))
    problems.extend('incident %s' % f['hook'] for f in failed)
    return problems


def evaluate(state_dir, exit_coverage_min=0.9, router_quality_min=0.5, max_underwater_without_tp_sl=0,
             severity=None, expected_version=None, healthz_status=None, now=None, max_age=120, intel_max_age=900,
             run=None, max_skew=DEFAULT_MAX_SKEW, max_bytes=DEFAULT_MAX_BYTES):
    """Everything the module returns (except ``changed``)."""
    now = time.time() if now is None else now
    sev = dict(DEFAULT_SEVERITY)
    sev.update(severity or {})
    docs, errors, invalid = read_runtime_surfaces(state_dir, max_bytes=max_bytes)
    runtime = build_runtime(docs, errors, quality_min=router_quality_min, now=now, invalid=invalid,
                            max_skew=max_skew)
    freshness = evaluate_surfaces(state_dir, None, max_age, intel_max_age, now=now, max_skew=max_skew,
                                  max_bytes=max_bytes)

    results = {
        'nav_anomaly': hook_nav_anomaly(runtime, docs, errors),
        'router': hook_router(runtime, docs, errors, router_quality_min),
        'exit_coverage': hook_exit_coverage(runtime, docs, errors, exit_coverage_min, max_underwater_without_tp_sl),
        'dd_transition': hook_dd_transition(runtime, docs, errors),
        'stale_surfaces': hook_stale_surfaces(freshness),
    }
    hooks = {}
    findings = []
    for name in HOOKS:
        status, reason, finding = results[name]
        hooks[name] = {'status': status, 'severity': sev[name], 'reason': one_line(reason)}
        if finding is not None:
            finding['severity'] = sev[name]
            findings.append(finding)
    failed = [f for f in findings if f['severity'] == 'fail']
    warned = [f for f in findings if f['severity'] == 'warn']
    unknown = [name for name in HOOKS if hooks[name]['status'] == 'unknown']
    dashboard = dashboard_checklist(runtime, docs, errors, expected_version, healthz_status, run=run,
                                    freshness=freshness)
    summary = build_summary(runtime)
    release = None
    if run is not None:
        release = verdict(run, runtime.get('engine_version'), _health_problems(freshness, failed, healthz_status))

    if findings:
        msg = '%d finding%s: %s' % (len(findings), '' if len(findings) == 1 else 's',
                                    ', '.join('%s (%s)' % (f['hook'], f['severity']) for f in findings))
    else:
        msg = 'no incidents'
    if unknown:
        msg += ' (unknown: %s)' % ', '.join(unknown)
    if runtime['invalid_values']:
        msg += ' (invalid values: %s)' % '; '.join(runtime['invalid_values'])
    generated = datetime.datetime.fromtimestamp(now, datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')
    document = {
        'schema': SCHEMA,
        'generated_at': generated,
        'state_dir': state_dir,
        'ok': not failed,
        'findings': findings,
        'hooks': hooks,
        'summary': summary,
    }
    return {
        'hooks': hooks,
        'findings': findings,
        'failed_hooks': failed,
        'warned_hooks': warned,
        'unknown_hooks': unknown,
        'dashboard': dashboard,
        'dashboard_ok': not any(item['ok'] is False for item in dashboard),
        'summary': summary,
        'document': document,
        'release': release,
        'invalid_values': runtime['invalid_values'],
        'msg': msg,
    }


def validate_severity(severity):
    """One-line error for a bad severity dict, else None."""
    if not isinstance(severity, dict):
        return 'severity must be a dict of hook -> warn|fail'
    unknown = sorted(str(k) for k in severity if k not in HOOKS)
    if unknown:
        return 'severity: unknown hook name(s) %s (known: %s)' % (', '.join(unknown), ', '.join(HOOKS))
    bad = sorted('%s=%s' % (k, v) for k, v in severity.items() if v not in SEVERITIES)
    if bad:
        return 'severity: invalid value(s) %s (allowed: warn, fail)' % ', '.join(bad)
    return None
