# -*- coding: utf-8 -*-
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

pytestmark = [
    pytest.mark.skipif(shutil.which('git') is None, reason='git is not installed'),
    pytest.mark.skipif(shutil.which('make') is None, reason='make is not installed'),
]

GIT_ENV = {
    'GIT_AUTHOR_NAME': 'Test', 'GIT_AUTHOR_EMAIL': 'test@example.invalid',
    'GIT_COMMITTER_NAME': 'Test', 'GIT_COMMITTER_EMAIL': 'test@example.invalid',
    'GIT_CONFIG_NOSYSTEM': '1',
}

# The engine's preflight targets (recipes start with a tab).
MAKEFILE = '''\
pretag-%:
\t@actual="$$(tr -d '[:space:]' < VERSION)"; \\
\tif [ "$$actual" != "$*" ]; then echo "pretag-$*: VERSION says '$$actual'" >&2; exit 1; fi
\t@echo "pretag-$*: VIRTUAL_ENV=$$VIRTUAL_ENV"
\t@echo "pretag-$*: PATH=$$PATH"
\t@echo "pretag-$*: cwd=$$(pwd)"
\t@echo "42 passed in 0.31s"

broken-pretag:
\t@echo "tests/test_state_contract.py::test_nav_surface FAILED"
\t@echo "1 failed, 41 passed in 0.40s" >&2
\t@exit 1

slow-pretag:
\t@echo "waiting for the exchange sandbox"
\t@sleep 30
'''

# The release's runtime sanity script: reads the live state, writes nothing.
SANITY_SCRIPT = '''\
import argparse
import json
import os
import sys

parser = argparse.ArgumentParser()
parser.add_argument('--state-dir', required=True)
args = parser.parse_args()
print('cwd=%s' % os.getcwd())
try:
    with open(os.path.join(args.state_dir, 'nav.json')) as handle:
        nav = json.load(handle)['nav']
except (OSError, ValueError, KeyError) as exc:
    print('nav.json unreadable: %s' % exc)
    print('RESULT: FAIL')
    sys.exit(1)
print('nav=%s' % nav)
print('RESULT: PASS')
'''


def git(repo, *args):
    env = dict(os.environ, **GIT_ENV)
    env['HOME'] = str(repo)
    proc = subprocess.run(['git', '-c', 'init.defaultBranch=main', '-c', 'commit.gpgsign=false',
                           '-c', 'tag.gpgsign=false'] + list(args),
                          cwd=str(repo), env=env, capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def write_release(repo, version, docs_version=None, sanity=True):
    (repo / 'VERSION').write_text(version + '\n')
    manifest = {'docs_version': docs_version or version, 'surfaces': ['nav.json']}
    (repo / 'v7_manifest.json').write_text(json.dumps(manifest, indent=2))
    scripts = repo / 'scripts'
    scripts.mkdir(exist_ok=True)
    for old in scripts.glob('runtime_sanity_check_*.py'):
        old.unlink()
    if sanity:
        (scripts / ('runtime_sanity_check_%s.py' % version.replace('.', '_'))).write_text(SANITY_SCRIPT)


def release(repo, version, annotated=False, **kwargs):
    write_release(repo, version, **kwargs)
    git(repo, 'add', '-A')
    git(repo, 'commit', '-q', '-m', 'release %s' % version)
    git(repo, *(['tag', '-a', version, '-m', version] if annotated else ['tag', version]))


def snapshot(root):
    """Every file and directory under root (.git included): what must not change."""
    result = {}
    for dirpath, dirnames, filenames in os.walk(str(root)):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            data = None
            if os.path.isfile(path) and not os.path.islink(path):
                with open(path, 'rb') as handle:
                    data = handle.read()
            result[os.path.relpath(path, str(root))] = (st.st_mode, st.st_size, st.st_mtime_ns, data)
    return result


@pytest.fixture
def box(tmp_path):
    """An origin with tags v7.5, v7.6 (annotated), v7.7 (VERSION says v7.6), v7.8 (docs_version v7.6)
    and v7.6.1 (no sanity script); the live checkout cloned from it at v7.5, with its venv and state."""
    work = tmp_path / 'engine'
    work.mkdir()
    git(work, 'init', '-q')
    (work / '.gitignore').write_text('logs/\nvenv/\n')
    (work / 'Makefile').write_text(MAKEFILE)
    (work / 'executor.py').write_text('print("engine")\n')
    release(work, 'v7.5')
    release(work, 'v7.6', annotated=True)
    write_release(work, 'v7.6')
    (work / 'CHANGELOG.md').write_text('v7.7: tagged without bumping VERSION\n')
    git(work, 'add', '-A')
    git(work, 'commit', '-q', '-m', 'v7.7 (VERSION not bumped)')
    git(work, 'tag', 'v7.7')
    release(work, 'v7.8', docs_version='v7.6')
    release(work, 'v7.6.1', sanity=False)
    origin = tmp_path / 'origin.git'
    git(tmp_path, 'clone', '-q', '--bare', str(work), str(origin))
    checkout = tmp_path / 'hedge-fund'
    git(tmp_path, 'clone', '-q', str(origin), str(checkout))
    git(checkout, '-c', 'advice.detachedHead=false', 'checkout', '-q', 'v7.5')
    venv_bin = checkout / 'venv' / 'bin'
    venv_bin.mkdir(parents=True)
    (venv_bin / 'python').symlink_to(sys.executable)
    state = checkout / 'logs' / 'state'
    state.mkdir(parents=True)
    (state / 'nav.json').write_text(json.dumps({'nav': 10234.56, 'updated_ts': 1764067195.0}))

    class Box(object):
        pass

    b = Box()
    b.root, b.origin, b.checkout, b.state, b.venv = tmp_path, origin, checkout, state, checkout / 'venv'
    b.workdir = tmp_path / 'preflight'
    b.path = '%s:/usr/local/bin:/usr/bin:/bin' % venv_bin
    return b


def run_check(run_module, box, version='v7.6', check_mode=False, **args):
    params = dict(checkout=str(box.checkout), version=version, workdir=str(box.workdir),
                  pretag_path=box.path, venv=str(box.venv), state_dir=str(box.state))
    params.update(args)
    before = snapshot(box.checkout)
    result = run_module('hedge_release_check', params, check_mode=check_mode)
    assert snapshot(box.checkout) == before, 'the live checkout was written'
    assert result.get('changed') is False or result.get('failed'), result
    return result


def tag_commit(box, version):
    return git(box.origin, 'rev-parse', '%s^{commit}' % version)


@pytest.mark.parametrize('check_mode', [False, True])
def test_release_passes_every_check(run_module, box, check_mode):
    result = run_check(run_module, box, check_mode=check_mode)
    assert result.rc == 0, result
    assert result['changed'] is False
    assert result['first_failure'] is None
    assert result['origin'] == {'rc': 0, 'url': str(box.origin), 'stderr': ''}
    assert result['tag']['found'] is True and result['tag']['rc'] == 0
    assert result['tag']['sha'] == git(box.origin, 'rev-parse', 'refs/tags/v7.6')  # the annotated tag object
    tree = box.workdir / 'v7.6'
    assert result['tree'] == str(tree)
    assert result['cloned'] is True and result['removed'] is True
    assert not tree.exists()
    assert result['commit'] == tag_commit(box, 'v7.6')
    assert (result['version'], result['docs_version'], result['expected']) == ('v7.6', 'v7.6', 'v7.6')
    assert result['version_matches'] is True and result['docs_version_matches'] is True
    assert result['manifest_error'] is None
    pretag = result['pretag']
    assert (pretag['run'], pretag['target'], pretag['rc'], pretag['timed_out']) == (True, 'pretag-v7.6', 0, False)
    assert pretag['last_line'] == '42 passed in 0.31s'
    assert 'pretag-v7.6: VIRTUAL_ENV=%s' % box.venv in pretag['stdout_tail']
    assert 'pretag-v7.6: PATH=%s' % box.path in pretag['stdout_tail']
    assert 'pretag-v7.6: cwd=%s' % tree in pretag['stdout_tail']
    assert result['sanity_script'] == {'path': str(tree / 'scripts' / 'runtime_sanity_check_v7_6.py'), 'exists': True}
    sanity = result['sanity']
    assert (sanity['run'], sanity['rc'], sanity['last_line']) == (True, 0, 'RESULT: PASS')
    assert sanity['stdout_tail'] == ['cwd=%s' % tree, 'nav=10234.56', 'RESULT: PASS']


def assert_not_reached(result, *steps):
    for step in steps:
        if step == 'tag':
            assert result['tag'] == {'checked': False, 'rc': None, 'found': False, 'sha': None, 'stderr': ''}
        elif step == 'clone':
            assert result['cloned'] is False and result['commit'] is None and result['version'] is None
            assert result['version_matches'] is False
        elif step == 'pretag':
            assert result['pretag']['run'] is False and result['pretag']['rc'] is None
        elif step == 'sanity_script':
            assert result['sanity_script']['exists'] is None
        elif step == 'sanity':
            assert result['sanity']['run'] is False and result['sanity']['rc'] is None


@pytest.mark.parametrize('version, first_failure, expected, not_reached', [
    ('v7.9', 'tag', {'tag': {'checked': True, 'rc': 0, 'found': False, 'sha': None, 'stderr': ''}},
     ('clone', 'pretag', 'sanity_script', 'sanity')),
    ('v7.7', 'version_file', {'version': 'v7.6', 'version_matches': False, 'docs_version_matches': True},
     ('pretag', 'sanity_script', 'sanity')),
    ('v7.8', 'docs_version', {'version': 'v7.8', 'docs_version': 'v7.6', 'version_matches': True,
                              'docs_version_matches': False},
     ('pretag', 'sanity_script', 'sanity')),
    ('v7.6.1', 'sanity_script', {'version': 'v7.6.1', 'sanity_script': False}, ('sanity',)),
], ids=['missing-tag', 'version-not-bumped', 'docs-not-bumped', 'no-sanity-script'])
def test_release_that_fails_a_check(run_module, box, version, first_failure, expected, not_reached):
    result = run_check(run_module, box, version=version)
    assert result.rc == 0 and not result.get('failed'), result
    assert result['first_failure'] == first_failure
    for key, value in expected.items():
        if key == 'sanity_script':  # exists: looked for, missing
            script = box.workdir / version / 'scripts' / 'runtime_sanity_check_v7_6_1.py'
            value = {'path': str(script), 'exists': value}
        assert result[key] == value, key
    if 'clone' not in not_reached:
        assert result['commit'] == tag_commit(box, version)
    if 'pretag' not in not_reached:
        assert result['pretag']['rc'] == 0
    assert_not_reached(result, *not_reached)
    assert result['removed'] is True
    assert not (box.workdir / version).exists()


@pytest.mark.parametrize('breakage, stderr_fragment', [
    (lambda box: git(box.checkout, 'remote', 'set-url', 'origin', str(box.root / 'gone.git')),
     'does not appear to be a git repository'),
    (lambda box: shutil.rmtree(str(box.origin)), 'does not appear to be a git repository'),
], ids=['wrong-url', 'origin-removed'])
def test_unreachable_origin(run_module, box, breakage, stderr_fragment):
    breakage(box)
    result = run_check(run_module, box)
    assert result.rc == 0 and not result.get('failed'), result
    assert result['first_failure'] == 'tag'
    assert result['origin']['rc'] == 0
    assert result['tag']['checked'] is True and result['tag']['rc'] != 0 and result['tag']['found'] is False
    assert stderr_fragment in result['tag']['stderr']
    assert_not_reached(result, 'clone', 'pretag', 'sanity_script', 'sanity')
    assert not (box.workdir / 'v7.6').exists()


@pytest.mark.parametrize('breakage, stderr_fragment', [
    (lambda box: git(box.checkout, 'remote', 'rename', 'origin', 'upstream'), "No such remote 'origin'"),
    (lambda box: shutil.rmtree(str(box.checkout / '.git')), 'not a git repository'),
], ids=['remote-renamed', 'not-a-checkout'])
def test_checkout_without_origin(run_module, box, breakage, stderr_fragment):
    breakage(box)
    result = run_check(run_module, box)
    assert result.rc == 0 and not result.get('failed'), result
    assert result['first_failure'] == 'origin'
    assert result['origin']['rc'] != 0 and result['origin']['url'] == ''
    assert stderr_fragment in result['origin']['stderr']
    assert_not_reached(result, 'tag', 'clone', 'pretag', 'sanity_script', 'sanity')


def test_failing_pretag(run_module, box):
    result = run_check(run_module, box, pretag_target='broken-pretag')
    assert result['first_failure'] == 'pretag'
    pretag = result['pretag']
    assert (pretag['run'], pretag['target'], pretag['rc'], pretag['timed_out']) == (True, 'broken-pretag', 2, False)
    assert pretag['stdout_tail'] == ['tests/test_state_contract.py::test_nav_surface FAILED']
    assert pretag['stderr_tail'][0] == '1 failed, 41 passed in 0.40s'
    # what the gate prints: the last non-empty line, stderr after stdout (make's own error line)
    assert pretag['last_line'] == pretag['stderr_tail'][-1] and 'broken-pretag' in pretag['last_line']
    assert_not_reached(result, 'sanity_script', 'sanity')
    assert not (box.workdir / 'v7.6').exists()


def test_pretag_is_stopped_at_its_timeout(run_module, box):
    started = time.monotonic()
    result = run_check(run_module, box, pretag_target='slow-pretag', pretag_timeout=1)
    assert time.monotonic() - started < 20
    pretag = result['pretag']
    assert pretag['timed_out'] is True and pretag['rc'] != 0
    assert pretag['stdout_tail'] == ['waiting for the exchange sandbox']
    assert pretag['last_line'] == 'make slow-pretag timed out after 1 s and was stopped'
    assert result['first_failure'] == 'pretag'
    assert_not_reached(result, 'sanity')
    assert not (box.workdir / 'v7.6').exists()


@pytest.mark.parametrize('breakage, rc, last_line', [
    (lambda box: (box.state / 'nav.json').unlink(), 1, 'RESULT: FAIL'),
    (lambda box: (box.state / 'nav.json').write_text('{"nav": '), 1, 'RESULT: FAIL'),
    (lambda box: (box.venv / 'bin' / 'python').unlink(), 127, None),
], ids=['nav-missing', 'nav-malformed', 'venv-without-python'])
def test_failing_sanity_script(run_module, box, breakage, rc, last_line):
    breakage(box)
    state_before = snapshot(box.state)
    result = run_check(run_module, box)
    assert snapshot(box.state) == state_before
    assert result['first_failure'] == 'sanity'
    assert result['pretag']['rc'] == 0
    assert result['sanity_script']['exists'] is True
    assert result['sanity']['run'] is (last_line is not None) and result['sanity']['rc'] == rc
    if last_line is None:  # could not be started: not run, rc 127 as a shell says
        assert result['sanity']['last_line'].startswith('cannot run %s' % (box.venv / 'bin' / 'python'))
    else:
        assert result['sanity']['last_line'] == last_line
    assert not (box.workdir / 'v7.6').exists()


def test_rollback_checks_without_pretag_and_sanity(run_module, box):
    """The rollback's preflight: tag, VERSION and docs_version only (v7.5 ships no Makefile target run)."""
    result = run_check(run_module, box, version='v7.5', run_pretag=False, run_sanity=False,
                       venv=None, state_dir=None, pretag_path=None)
    assert result['first_failure'] is None
    assert result['commit'] == tag_commit(box, 'v7.5')
    assert result['version_matches'] is True
    assert_not_reached(result, 'pretag', 'sanity_script', 'sanity')
    assert not (box.workdir / 'v7.5').exists()


def test_keep_workdir_leaves_the_scratch_clone(run_module, box):
    result = run_check(run_module, box, keep_workdir=True)
    tree = box.workdir / 'v7.6'
    assert result['first_failure'] is None and result['removed'] is False
    assert git(tree, 'rev-parse', 'HEAD') == tag_commit(box, 'v7.6')
    assert git(tree, 'status', '--porcelain') == ''
    assert git(tree, 'remote', 'get-url', 'origin') == str(box.origin)
    # cloned with --reference: objects come from the live checkout
    alternates = (tree / '.git' / 'objects' / 'info' / 'alternates').read_text()
    assert os.path.realpath(alternates.strip()) == os.path.realpath(str(box.checkout / '.git' / 'objects'))


@pytest.mark.parametrize('stale', ['dir', 'file', 'symlink'])
def test_stale_scratch_clone_is_replaced(run_module, box, stale, tmp_path):
    tree = box.workdir / 'v7.6'
    box.workdir.mkdir()
    outside = tmp_path / 'outside'
    outside.mkdir()
    (outside / 'keep.txt').write_text('not ours')
    if stale == 'dir':
        (tree / 'scripts').mkdir(parents=True)
        (tree / 'VERSION').write_text('v7.5\n')
        (tree / 'scripts' / 'readonly.txt').write_text('x')
        os.chmod(str(tree / 'scripts'), 0o555)
    elif stale == 'file':
        tree.write_text('left over')
    else:
        tree.symlink_to(outside)
    result = run_check(run_module, box)
    assert result['first_failure'] is None, result
    assert result['version'] == 'v7.6'
    assert not os.path.lexists(str(tree))
    assert (outside / 'keep.txt').read_text() == 'not ours'


def test_a_failed_check_removes_a_stale_clone_too(run_module, box):
    """The role's old `always: Remove the scratch clone` ran whatever failed."""
    (box.workdir / 'v7.6').mkdir(parents=True)
    git(box.checkout, 'remote', 'rename', 'origin', 'upstream')
    result = run_check(run_module, box)
    assert result['first_failure'] == 'origin' and result['removed'] is True
    assert not (box.workdir / 'v7.6').exists()


def test_clone_that_cannot_be_made_fails_the_module(run_module, box):
    box.workdir.write_text('a file where the scratch directory should be')
    result = run_check(run_module, box)
    assert result['failed'] is True
    assert 'scratch clone' in result['msg'] and str(box.workdir) in result['msg']
    assert result['tag']['found'] is True and result['cloned'] is False
    assert box.workdir.read_text() == 'a file where the scratch directory should be'


@pytest.mark.parametrize('args, fragment', [
    ({'version': 'v7.6/../../hedge-fund'}, 'is not a valid release tag'),
    ({'version': '..'}, 'is not a valid release tag'),
    ({'version': '--upload-pack=touch /tmp/x'}, 'is not a valid release tag'),
    ({'remote': '--upload-pack=x'}, 'is not a git remote name'),
    ({'pretag_target': '-f/etc/passwd'}, 'is not a make target'),
    ({'pretag_timeout': 0}, 'pretag_timeout must be a positive'),
    ({'sanity_script': '/usr/bin/true'}, 'must be a relative path inside the release'),
    ({'sanity_script': '../hedge-fund/executor.py'}, 'must be a relative path inside the release'),
    ({'venv': None}, 'run_sanity is True'),
    ({'workdir': '{checkout}'}, 'overlaps the live checkout'),
    ({'workdir': '{checkout}/logs'}, 'overlaps the live checkout'),
    ({'docs_version_key': 'a..b'}, 'docs_version_key'),
])
def test_invalid_parameters_fail(run_module, box, args, fragment):
    args = {k: (v.format(checkout=box.checkout) if isinstance(v, str) else v) for k, v in args.items()}
    result = run_check(run_module, box, **args)
    assert result['failed'] is True
    assert fragment in result['msg'], result['msg']
    assert not box.workdir.exists()


MISSING_COMMIT = '0123456789abcdef' * 2 + '01234567'


@pytest.mark.parametrize(
    ('target', 'ready', 'problem'),
    [
        # what the ledger records for a v7.5 box: its tag and the live commit
        (lambda box: {'version': 'v7.5', 'commit': tag_commit(box, 'v7.5')}, True, None),
        # after an interrupted run, a record naming a commit this checkout never had
        (lambda box: {'version': 'v7.4', 'commit': MISSING_COMMIT}, False,
         'commit 0123456789ab of v7.4 is not in the object store of {checkout}'),
        # the live commit is there, but the checkout has no tag of that name
        (lambda box: {'version': 'v7.5.9', 'commit': tag_commit(box, 'v7.5')}, False, 'tag v7.5.9 is not in {checkout}'),
        # the tag names another commit than the one that was live
        (lambda box: {'version': 'v7.5', 'commit': tag_commit(box, 'v7.6')}, False,
         'tag v7.5 in {checkout} names {v75}, but v7.5 was live at {v76}'),
        # v7.7 is tagged on a commit whose VERSION says v7.6
        (lambda box: {'version': 'v7.7', 'commit': tag_commit(box, 'v7.7')}, False,
         'VERSION at {v77} is v7.6, expected v7.7'),
        # a live release without a commit (no VERSION, not a checkout)
        (lambda box: {'version': 'v7.5', 'commit': ''}, False,
         'the release live before this run is not known as a tag and a commit (v7.5 at no commit)'),
    ],
    ids=['ready', 'commit-missing', 'tag-missing', 'tag-elsewhere', 'version-file', 'no-commit'],
)
def test_rollback_target_is_checked_in_the_live_checkout(run_module, box, target, ready, problem):
    """rollback: the release the automatic rollback would return to, checked in the live checkout (read only,
    whatever the tag's own checks find), so the rollback needs no fetch."""
    git(box.checkout, 'fetch', '-q', '--tags', 'origin')  # the checkout knows every tag, as after past activations
    given = target(box)
    result = run_check(run_module, box, version='v7.9', run_pretag=False, run_sanity=False, rollback=given)
    assert result['first_failure'] == 'tag'  # v7.9 does not exist: the rollback target is checked anyway
    facts = result['rollback']
    assert facts['ready'] is ready, facts
    assert (facts['version'], facts['commit']) == (given['version'], given['commit'])
    values = {'checkout': box.checkout, 'v75': tag_commit(box, 'v7.5')[:12], 'v76': tag_commit(box, 'v7.6')[:12],
              'v77': tag_commit(box, 'v7.7')[:12]}
    assert facts['problem'] == (problem.format(**values) if problem else None)
    if ready:
        assert facts['commit_present'] is True and facts['tag_commit'] == given['commit']
        assert facts['version_at_commit'] == 'v7.5'


def test_without_rollback_nothing_is_checked(run_module, box):
    assert run_check(run_module, box, run_pretag=False, run_sanity=False)['rollback'] is None
