# -*- coding: utf-8 -*-
"""hedge_incidents after a run: the live release judged against the release the run should have left live
(option ``run``), and missing/stale surfaces (item surface_freshness, hook stale_surfaces)."""
from __future__ import annotations

import pytest

from hedge_test_support import NOW, v75_payloads, v76_payloads
from test_hedge_incidents import item, run_incidents, sim_payloads


def activation(outcome, gate='', version='v7.6', previous='v7.5', kind='activation'):
    return {'kind': kind, 'outcome': outcome, 'version': version, 'previous_version': previous, 'failed_gate': gate}


def not_failed(result):
    return [i['panel'] for i in result['dashboard'] if i['ok'] is False]


# ---------------------------------------------------------------- the release the run should have left live

@pytest.mark.parametrize('make', [v75_payloads, lambda: sim_payloads('v7.5')], ids=['support', 'sim'])
@pytest.mark.parametrize('run, intent, statement', [
    (activation('refused', 'preflight.pretag'), 'v7.5 live as intended: activation of v7.6 refused at preflight.pretag',
     'activation of v7.6 refused at preflight.pretag; v7.5 still live and healthy'),
    (activation('refused', 'deploy.clean_checkout'),
     'v7.5 live as intended: activation of v7.6 refused at deploy.clean_checkout',
     'activation of v7.6 refused at deploy.clean_checkout; v7.5 still live and healthy'),
    (activation('rolled_back', 'verify.engine_version'),
     'v7.5 live as intended: activation of v7.6 rolled back after verify.engine_version',
     'activation of v7.6 rolled back after verify.engine_version; v7.5 live and verified'),
    (activation('success', version='v7.5', previous='v7.6', kind='rollback'),
     'v7.5 live as intended: rollback to v7.5 succeeded', 'rollback to v7.5 succeeded; v7.5 live and healthy'),
], ids=['refused-pretag', 'refused-dirty', 'rolled-back', 'rollback-success'])
def test_previous_release_live_as_intended(run_module, state_dir, make, run, intent, statement):
    """v7.5 live after a refusal or a verified rollback is the correct outcome: no FAIL on the release."""
    result = run_incidents(run_module, state_dir(make()), healthz_status=200, run=run)
    assert result.rc == 0, result
    system = item(result, 'system_health')
    assert system['ok'] is True, system
    assert system['detail'] == 'engine v7.5 == expected v7.5 (%s); healthz 200' % intent
    assert not_failed(result) == []
    release = result['release']
    assert release['statement'] == statement
    assert (release['expected_version'], release['live_version'], release['as_intended'], release['healthy']) == \
        ('v7.5', 'v7.5', True, True)


def test_success_judged_against_the_target(run_module, state_dir):
    result = run_incidents(run_module, state_dir(sim_payloads('v7.6')), healthz_status=200,
                           run=activation('success'))
    assert item(result, 'system_health')['ok'] is True
    assert result['release']['statement'] == 'activation of v7.6 succeeded; v7.6 live and healthy'


@pytest.mark.parametrize('make, run, fragment', [
    # a "verified" rollback but the engine still reports the refused target
    (lambda: sim_payloads('v7.6'), activation('rolled_back', 'verify.sanity'),
     'engine v7.6 != expected v7.5 (not the release that should be live: activation of v7.6 rolled back after '
     'verify.sanity)'),
    # a success that left the old release running
    (lambda: sim_payloads('v7.5'), activation('success'),
     'engine v7.5 != expected v7.6 (not the release that should be live: activation of v7.6 succeeded)'),
], ids=['rolled-back-but-target-live', 'success-but-old-live'])
def test_wrong_release_live_fails(run_module, state_dir, make, run, fragment):
    result = run_incidents(run_module, state_dir(make()), healthz_status=200, run=run)
    system = item(result, 'system_health')
    assert system['ok'] is False and fragment in system['detail'], system
    assert result['release']['as_intended'] is False and result['release']['healthy'] is False
    assert 'should be live but the engine reports' in result['release']['statement']
    assert 'healthy' not in result['release']['statement']


@pytest.mark.parametrize('make, run, statement', [
    (lambda: sim_payloads('v7.6', {'wrong_engine_version'}), activation('failed', 'verify.engine_version'),
     'activation of v7.6 failed at verify.engine_version; automatic rollback off; v7.6 left live for inspection, '
     'not verified (engine reports v7.4)'),
    (lambda: sim_payloads('v7.6'), activation('failed', 'verify.runtime_sanity'),
     'activation of v7.6 failed at verify.runtime_sanity; automatic rollback off; v7.6 left live for inspection, '
     'not verified (engine reports v7.6)'),
    (lambda: sim_payloads('v7.6'), activation('rollback_failed', 'verify.boot_line'),
     'activation of v7.6 failed at verify.boot_line; automatic rollback to v7.5 FAILED; box in an unknown state '
     '(engine reports v7.6): page an operator'),
    (lambda: sim_payloads('v7.5'), activation('failed', 'verify.boot_line', version='v7.5', previous='v7.6',
                                              kind='rollback'),
     'rollback to v7.5 failed at verify.boot_line; box in an unknown state (engine reports v7.5): page an operator'),
    (lambda: sim_payloads('v7.6'), activation('interrupted'),
     'activation of v7.6 interrupted; box in an unknown state (engine reports v7.6): page an operator'),
], ids=['failed-wrong-version', 'failed-right-version', 'rollback-failed', 'rollback-run-failed', 'interrupted'])
def test_unverified_outcomes_are_never_healthy(run_module, state_dir, make, run, statement):
    result = run_incidents(run_module, state_dir(make()), healthz_status=200, run=run)
    system = item(result, 'system_health')
    assert system['ok'] is False, system
    assert 'no verified release' in system['detail'] or '!=' in system['detail']
    assert result['release']['healthy'] is False
    assert result['release']['statement'] == statement
    assert 'healthy' not in result['release']['statement'] and 'live and' not in result['release']['statement']


@pytest.mark.parametrize('healthz, problem', [(503, 'healthz 503'), (-1, 'healthz no answer')])
def test_refused_but_unhealthy_says_so(run_module, state_dir, healthz, problem):
    result = run_incidents(run_module, state_dir(sim_payloads('v7.5')), healthz_status=healthz,
                           run=activation('refused', 'preflight.pretag'))
    assert item(result, 'system_health')['ok'] is False
    assert result['release']['statement'] == (
        'activation of v7.6 refused at preflight.pretag; v7.5 still live but NOT healthy: %s' % problem)
    assert result['release']['as_intended'] is True and result['release']['healthy'] is False


def test_without_run_expected_version_is_used(run_module, state_dir):
    """A standalone check (incident_check.yml) keeps judging against expected_version; release is null."""
    result = run_incidents(run_module, state_dir(sim_payloads('v7.5')), healthz_status=200, expected_version='v7.6')
    assert item(result, 'system_health') == {'panel': 'system_health', 'ok': False,
                                             'detail': 'engine v7.5 != expected v7.6; healthz 200'}
    assert result['release'] is None


@pytest.mark.parametrize('run, fragment', [
    ({'kind': 'activation', 'outcome': 'ok'}, 'value of outcome must be one of'),
    ({'kind': 'deploy', 'outcome': 'success'}, 'value of kind must be one of'),
    ({'outcome': 'success'}, 'kind'),
])
def test_invalid_run_is_refused(run_module, state_dir, run, fragment):
    result = run_incidents(run_module, state_dir(sim_payloads('v7.6')), run=run)
    assert result.get('failed') is True
    assert fragment in result['msg'] and '\n' not in result['msg']


# ---------------------------------------------------------------- missing and stale surfaces

LOOP = ['nav.json', 'nav_state.json', 'positions_state.json', 'positions_ledger.json', 'kpis_v7.json',
        'diagnostics.json', 'risk_snapshot.json', 'router_health.json']


@pytest.mark.parametrize('make, version', [
    (lambda: v76_payloads(loop_age=160.0, intel_age=160.0), 'v7.6'),
    (lambda: v75_payloads(loop_age=160.0, intel_age=160.0), 'v7.5'),
    (lambda: sim_payloads('v7.6', {'stale_timestamps'}), 'v7.6'),
    (lambda: sim_payloads('v7.5', {'stale_timestamps'}), 'v7.5'),
], ids=['support-v7.6', 'support-v7.5', 'sim-v7.6', 'sim-v7.5'])
def test_fully_stale_box_is_an_incident(run_module, state_dir, make, version):
    """Every surface 160 s (or, simulator, 3600 s) old: not 'no incidents' and every item ok."""
    result = run_incidents(run_module, state_dir(make()), healthz_status=200, expected_version=version)
    assert result.rc == 0, result
    assert result['msg'].startswith('1 finding: stale_surfaces (fail)'), result['msg']
    assert [f['hook'] for f in result['failed_hooks']] == ['stale_surfaces']
    assert result['document']['ok'] is False
    stale = result['failed_hooks'][0]
    assert stale['title'].startswith('Engine not publishing: all ')
    assert 'limit 120 s' in stale['title']
    freshness = item(result, 'surface_freshness')
    assert freshness['ok'] is False
    assert freshness['detail'].startswith('surface warnings: stale: nav.json ')
    for name in LOOP:
        assert name in freshness['detail'] and name in stale['seen'], name
        assert stale['details']['surfaces'][name]['status'] == 'stale'
    assert result['dashboard_ok'] is False


INTEL = ['symbol_scores_v6.json', 'factor_diagnostics.json']


@pytest.mark.parametrize('age, stale, optional', [
    (160.0, LOOP + ['engine_metadata.json'], ''),  # intel surfaces may be 900 s old
    (3600.0, LOOP + ['engine_metadata.json'] + INTEL, '; optional: stale: rv_momentum.json 3600 s'),
])
def test_stale_surfaces_named_with_their_age(run_module, state_dir, age, stale, optional):
    result = run_incidents(run_module, state_dir(v76_payloads(loop_age=age, intel_age=age)))
    assert item(result, 'surface_freshness')['detail'] == (
        'surface warnings: stale: ' + ', '.join('%s %d s' % (name, age) for name in stale) + optional)


@pytest.mark.parametrize('mutate, ok, detail', [
    (lambda p, sd: sd(p), True, 'no missing/stale surface warnings (11 required surfaces fresh)'),
    (lambda p, sd: sd(dict(p, **{'kpis_v7.json': dict(p['kpis_v7.json'], updated_at='%d' % (NOW - 160))})), False,
     'surface warnings: stale: kpis_v7.json 160 s'),
    (lambda p, sd: sd(p, drop=('diagnostics.json', 'rv_momentum.json')), False,
     'surface warnings: missing: diagnostics.json; optional: missing: rv_momentum.json'),
    (lambda p, sd: sd(p, raw={'nav.json': '{"nav": 1'}), False, 'surface warnings: malformed: nav.json'),
], ids=['fresh', 'one-stale', 'missing', 'malformed'])
def test_partly_stale_box_names_the_surfaces_without_an_incident(run_module, state_dir, mutate, ok, detail):
    result = run_incidents(run_module, mutate(v76_payloads(), state_dir), healthz_status=200)
    assert item(result, 'surface_freshness') == {'panel': 'surface_freshness', 'ok': ok, 'detail': detail}
    assert result['hooks']['stale_surfaces']['status'] == 'ok'
    assert 'stale_surfaces' not in [f['hook'] for f in result['findings']]


def test_v75_started_ts_does_not_age(run_module, state_dir):
    """The runbook shape of engine_metadata.json has only started_ts (no write time): an engine running for
    ten minutes is no surface warning."""
    result = run_incidents(run_module, state_dir(sim_payloads('v7.5')), healthz_status=200)
    assert item(result, 'surface_freshness')['ok'] is True
    assert result['hooks']['stale_surfaces']['status'] == 'ok'


def test_stale_box_after_refusal_is_not_called_healthy(run_module, state_dir):
    result = run_incidents(run_module, state_dir(v75_payloads(loop_age=160.0, intel_age=160.0)),
                           healthz_status=200, run=activation('refused', 'preflight.pretag'))
    assert result['release']['healthy'] is False
    assert result['release']['statement'] == (
        'activation of v7.6 refused at preflight.pretag; v7.5 still live but NOT healthy: 8 surface warnings; '
        'incident stale_surfaces')
