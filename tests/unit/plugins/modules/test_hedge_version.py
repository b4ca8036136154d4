# -*- coding: utf-8 -*-
from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

pytestmark = pytest.mark.skipif(shutil.which('git') is None, reason='git is not installed')

GIT_ENV = {
    'GIT_AUTHOR_NAME': 'Test', 'GIT_AUTHOR_EMAIL': 'test@example.invalid',
    'GIT_COMMITTER_NAME': 'Test', 'GIT_COMMITTER_EMAIL': 'test@example.invalid',
    'GIT_CONFIG_NOSYSTEM': '1',
}


def git(repo, *args):
    env = dict(os.environ, **GIT_ENV)
    env['HOME'] = str(repo)
    proc = subprocess.run(['git', '-c', 'init.defaultBranch=main', '-c', 'commit.gpgsign=false',
                           '-c', 'tag.gpgsign=false'] + list(args),
                          cwd=str(repo), env=env, capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def write_release(repo, version, docs_version=None):
    (repo / 'VERSION').write_text(version + '\n')
    manifest = {'docs_version': docs_version or version, 'surfaces': ['nav.json']}
    (repo / 'v7_manifest.json').write_text(json.dumps(manifest, indent=2))


@pytest.fixture
def engine_repo(tmp_path):
    """An engine checkout with tags v7.5 (lightweight) and v7.6 (annotated), HEAD at v7.6."""
    repo = tmp_path / 'hedge-fund'
    repo.mkdir()
    git(repo, 'init', '-q')
    (repo / '.gitignore').write_text('logs/\nvenv/\n')
    (repo / 'executor.py').write_text('print("engine")\n')
    write_release(repo, 'v7.5')
    git(repo, 'add', '-A')
    git(repo, 'commit', '-q', '-m', 'release v7.5')
    git(repo, 'tag', 'v7.5')
    write_release(repo, 'v7.6')
    git(repo, 'commit', '-q', '-am', 'release v7.6')
    git(repo, 'tag', '-a', 'v7.6', '-m', 'v7.6')
    (repo / 'logs' / 'state').mkdir(parents=True)
    (repo / 'logs' / 'state' / 'nav.json').write_text('{}')
    return repo


def run_version(run_module, repo, check_mode=False, **args):
    return run_module('hedge_version', dict(path=str(repo), **args), check_mode=check_mode)


@pytest.mark.parametrize('check_mode', [False, True])
def test_clean_checkout_at_tag(run_module, engine_repo, check_mode):
    result = run_version(run_module, engine_repo, check_mode=check_mode, expected='v7.6')
    assert result.rc == 0, result
    assert result['changed'] is False
    assert result['version'] == 'v7.6'
    assert result['docs_version'] == 'v7.6'
    assert result['manifest_error'] is None
    assert result['commit'] == git(engine_repo, 'rev-parse', 'HEAD')
    assert len(result['commit']) == 40
    assert result['ref'] is None
    assert result['ref_exists'] is True
    assert result['tag'] == 'v7.6'
    assert result['tags'] == ['v7.6']
    assert result['expected'] == 'v7.6'
    assert result['version_matches'] is True
    assert result['docs_version_matches'] is True
    assert result['dirty'] is False
    assert result['dirty_count'] == 0
    assert result['dirty_tracked'] is False
    assert result['dirty_files'] == []


@pytest.mark.parametrize('expected, matches', [('v7.7', False), ('7.6', True), (None, None)])
def test_expected_version(run_module, engine_repo, expected, matches):
    args = {} if expected is None else {'expected': expected}
    result = run_version(run_module, engine_repo, **args)
    assert result['version_matches'] is matches
    assert result.get('failed', False) is False


def test_version_file_mismatch_with_docs_version(run_module, engine_repo):
    write_release(engine_repo, 'v7.6', docs_version='v7.5')
    git(engine_repo, 'commit', '-q', '-am', 'docs lag behind')
    result = run_version(run_module, engine_repo, expected='v7.6')
    assert result['version_matches'] is True
    assert result['docs_version'] == 'v7.5'
    assert result['docs_version_matches'] is False
    assert result['tag'] is None  # HEAD moved past the tag
    assert result['tags'] == []


def test_version_file_does_not_hold_target(run_module, engine_repo):
    git(engine_repo, 'checkout', '-q', 'v7.5')
    result = run_version(run_module, engine_repo, expected='v7.6')
    assert result['version'] == 'v7.5'
    assert result['version_matches'] is False
    assert result['tag'] == 'v7.5'
    assert result['commit'] == git(engine_repo, 'rev-parse', 'v7.5^{commit}')


def test_read_ref_without_checkout(run_module, engine_repo):
    head_before = git(engine_repo, 'rev-parse', 'HEAD')
    result = run_version(run_module, engine_repo, ref='v7.5', expected='v7.5')
    assert result['ref'] == 'v7.5'
    assert result['ref_exists'] is True
    assert result['version'] == 'v7.5'
    assert result['docs_version'] == 'v7.5'
    assert result['commit'] == git(engine_repo, 'rev-parse', 'v7.5^{commit}')
    assert result['version_matches'] is True
    assert result['tag'] is None
    assert result['dirty'] is None
    assert result['dirty_tracked'] is None
    # nothing was checked out
    assert git(engine_repo, 'rev-parse', 'HEAD') == head_before
    assert (engine_repo / 'VERSION').read_text().strip() == 'v7.6'


# deploy_git's gate deploy.checkout compares HEAD with refs/tags/<version> peeled to its commit.
@pytest.mark.parametrize('ref', ['v7.6', 'refs/tags/v7.6'])
def test_annotated_tag_ref_is_peeled_to_commit(run_module, engine_repo, ref):
    result = run_version(run_module, engine_repo, ref=ref)
    assert result['commit'] == git(engine_repo, 'rev-parse', 'HEAD')
    assert result['commit'] != git(engine_repo, 'rev-parse', 'v7.6')  # the tag object itself


def test_missing_ref_is_a_fact(run_module, engine_repo):
    result = run_version(run_module, engine_repo, ref='v9.9', expected='v9.9')
    assert result.rc == 0
    assert result.get('failed', False) is False
    assert result['ref_exists'] is False
    assert result['version'] is None
    assert result['commit'] is None
    assert result['version_matches'] is False
    assert result['docs_version_matches'] is None


def test_ref_without_manifest(run_module, engine_repo):
    (engine_repo / 'v7_manifest.json').unlink()
    git(engine_repo, 'commit', '-q', '-am', 'drop manifest')
    result = run_version(run_module, engine_repo, ref='HEAD')
    assert result['version'] == 'v7.6'
    assert result['docs_version'] is None
    assert result['manifest_error'] == 'missing'
    assert result['docs_version_matches'] is None


def test_dirty_tracked_file(run_module, engine_repo):
    (engine_repo / 'VERSION').write_text('v7.6-hotfix\n')
    result = run_version(run_module, engine_repo, expected='v7.6')
    assert result['dirty'] is True
    assert result['dirty_files'] == [' M VERSION']
    assert result['dirty_tracked'] is True
    assert result['version'] == 'v7.6-hotfix'  # the work tree is read
    assert result['version_matches'] is False


@pytest.mark.parametrize('include_untracked, dirty', [(True, True), (False, False)])
def test_untracked_files(run_module, engine_repo, include_untracked, dirty):
    (engine_repo / 'scratch.txt').write_text('x')
    result = run_version(run_module, engine_repo, include_untracked=include_untracked)
    assert result['dirty'] is dirty
    assert result['dirty_files'] == (['?? scratch.txt'] if dirty else [])
    assert result['dirty_tracked'] is False


def test_dirty_files_are_capped_tracked_first(run_module, engine_repo):
    for i in range(25):
        (engine_repo / ('junk%02d.txt' % i)).write_text('x')
    (engine_repo / 'executor.py').write_text('print("patched on the box")\n')
    result = run_version(run_module, engine_repo)
    assert result['dirty_count'] == 26
    assert len(result['dirty_files']) == 20
    assert result['dirty_files'][0] == ' M executor.py'
    assert result['dirty_files'][1] == '?? junk00.txt'
    assert result['dirty_tracked'] is True


def test_git_status_does_not_rewrite_the_index(run_module, engine_repo):
    index = engine_repo / '.git' / 'index'
    # a stat-only change makes a plain `git status` refresh and rewrite the index
    os.utime(engine_repo / 'executor.py', (1_800_000_000, 1_800_000_000))
    before = (index.stat().st_mtime_ns, index.read_bytes())
    result = run_version(run_module, engine_repo)
    assert result['dirty'] is False
    assert (index.stat().st_mtime_ns, index.read_bytes()) == before


def test_custom_files_and_key(run_module, engine_repo):
    (engine_repo / 'RELEASE').write_text('\nv7.6\n')
    (engine_repo / 'meta.json').write_text(json.dumps({'docs': {'version': 'v7.6'}}))
    result = run_version(run_module, engine_repo, version_file='RELEASE', manifest_file='meta.json',
                         docs_version_key='docs.version || docs_version', include_untracked=False)
    assert result['version'] == 'v7.6'
    assert result['docs_version'] == 'v7.6'
    assert result['docs_version_matches'] is True


def test_missing_version_file(run_module, engine_repo):
    result = run_version(run_module, engine_repo, version_file='NOPE', expected='v7.6')
    assert result['version'] is None
    assert result['version_matches'] is False


@pytest.mark.parametrize('make_path, fragment', [
    (lambda tmp: tmp / 'absent', 'does not exist'),
    (lambda tmp: tmp, 'is not a git checkout'),
])
def test_unusable_path_fails(run_module, tmp_path, make_path, fragment):
    path = make_path(tmp_path / 'plain')
    (tmp_path / 'plain').mkdir()
    result = run_version(run_module, path)
    assert result['failed'] is True
    assert fragment in result['msg']
    assert '\n' not in result['msg']


def test_option_like_ref_is_rejected(run_module, engine_repo):
    result = run_version(run_module, engine_repo, ref='--output=/tmp/x')
    assert result['failed'] is True
    assert 'not a valid git ref' in result['msg']


@pytest.mark.parametrize('moved_to, version_matches', [
    ('untagged', True),   # a commit after the tag whose VERSION still says v7.6
    ('v7.5', False),      # back at the previous release
])
def test_head_off_the_tag_is_told_apart_by_commit(run_module, engine_repo, moved_to, version_matches):
    """The facts deploy.checkout compares: the work tree's commit vs the tag's commit."""
    if moved_to == 'untagged':
        (engine_repo / 'RELEASE_NOTES.md').write_text('# v7.7\n\nTagged without bumping VERSION.\n')
        git(engine_repo, 'add', '-A')
        git(engine_repo, 'commit', '-q', '-m', 'v7.7 (VERSION not bumped)')
    else:
        git(engine_repo, 'checkout', '-q', '--detach', moved_to)
    work_tree = run_version(run_module, engine_repo, expected='v7.6')
    tag = run_version(run_module, engine_repo, ref='refs/tags/v7.6', expected='v7.6')
    assert tag['ref_exists'] is True and tag['commit'] == git(engine_repo, 'rev-parse', 'v7.6^{commit}')
    assert work_tree['commit'] == git(engine_repo, 'rev-parse', 'HEAD') != tag['commit']
    assert work_tree['version_matches'] is version_matches
    assert work_tree['dirty'] is False


@pytest.mark.parametrize('moved_to, same', [('v7.6', True), ('untagged', False), ('v7.5', False)])
def test_resolve_reads_the_tag_commit_in_the_same_run(run_module, engine_repo, moved_to, same):
    """One run gives deploy.checkout both facts: HEAD's commit and the tag's (annotated: peeled)."""
    if moved_to == 'untagged':
        (engine_repo / 'NOTES.md').write_text('after the tag\n')
        git(engine_repo, 'add', '-A')
        git(engine_repo, 'commit', '-q', '-m', 'after v7.6')
    elif moved_to == 'v7.5':
        git(engine_repo, 'checkout', '-q', '--detach', 'v7.5')
    result = run_version(run_module, engine_repo, expected='v7.6', resolve='refs/tags/v7.6')
    assert result['resolved'] == {'ref': 'refs/tags/v7.6', 'exists': True,
                                  'commit': git(engine_repo, 'rev-parse', 'v7.6^{commit}')}
    assert (result['commit'] == result['resolved']['commit']) is same


def test_resolve_of_a_missing_tag_is_a_fact(run_module, engine_repo):
    result = run_version(run_module, engine_repo, resolve='refs/tags/v9.9')
    assert result['resolved'] == {'ref': 'refs/tags/v9.9', 'exists': False, 'commit': None}
    assert result['commit'] == git(engine_repo, 'rev-parse', 'HEAD')


@pytest.mark.parametrize('remote, url, error', [
    ('origin', 'https://git.example.invalid/gpt-hedge/hedge-fund.git', None),
    ('upstream', None, 'No such remote'),
])
def test_remote_url_in_the_same_run(run_module, engine_repo, remote, url, error):
    git(engine_repo, 'remote', 'add', 'origin', 'https://git.example.invalid/gpt-hedge/hedge-fund.git')
    result = run_version(run_module, engine_repo, remote=remote)
    assert result['remote_url'] == url
    assert (result['remote_error'] is None) if error is None else (error in result['remote_error'])
    assert result['dirty'] is False


@pytest.mark.parametrize('args', [{'resolve': '--upload-pack=x'}, {'remote': '-u'}, {'remote': 'origin x'}])
def test_option_like_resolve_and_remote_are_rejected(run_module, engine_repo, args):
    result = run_version(run_module, engine_repo, **args)
    assert result['failed'] is True
    assert 'is not a valid git' in result['msg']
