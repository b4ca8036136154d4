#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, GPT-Hedge operations
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: hedge_release_check
short_description: Check a GPT-Hedge release tag in a scratch clone, in one module call
description:
  - Does every step of the preflight of a release tag in one process, in this order, and returns the facts of each.
    The live checkout O(checkout) is only read.
  - 1. C(git remote get-url) of O(remote) in the live checkout (RV(origin)).
  - 2. C(git ls-remote --tags <remote> refs/tags/<version>) from the live checkout (RV(tag)).
  - 3. A scratch clone of the tag at O(workdir)/O(version), after removing a stale one there, made with
    C(git clone --reference <checkout>) from the origin URL of step 1 and checked out (detached) at the tag's commit;
    submodules are initialised when the release has any.
  - 4. The version facts of the clone, as M(gpt_hedge.activation.hedge_version) returns them for a work tree
    (RV(commit), RV(version), RV(docs_version), RV(version_matches), RV(docs_version_matches)).
  - 5. With O(run_pretag), C(make <pretag_target>) in the clone with C(PATH=<pretag_path>) and C(VIRTUAL_ENV=<venv>),
    killed after O(pretag_timeout) seconds (RV(pretag)).
  - 6. With O(run_sanity), whether O(sanity_script) exists in the clone (RV(sanity_script)), and if it does,
    C(<venv>/bin/python <sanity_script> --state-dir <state_dir>) with the clone as working directory (RV(sanity)).
  - A step runs only when every check before it passed (the origin URL was read, the tag exists, VERSION is O(version)
    and the manifest's docs version equals VERSION, make passed, the sanity script exists); the facts of a step that
    did not run say so (RV(first_failure) names the check that stopped the run).
  - With O(rollback), also (first, whatever the other checks find) whether the release an automatic rollback would
    return to is ready in the live checkout, without the network - its commit is in the checkout's object store, its
    tag names that commit, and its version file at that commit is its version (RV(rollback)).
  - The scratch clone is removed when the module ends, also after a failed check or an error, unless O(keep_workdir).
  - The module returns facts and does not decide gates; assert on the returned values. A failed check is not a
    module failure. The module fails on invalid parameters and when the scratch clone cannot be made.
version_added: 0.3.0
author:
  - GPT-Hedge operations (@gpt-hedge)
options:
  checkout:
    description:
      - Path of the live engine checkout (a git work tree). Only read; it is the C(--reference) of the scratch clone.
    type: path
    required: true
  remote:
    description:
      - Remote of O(checkout) that holds the release tags.
    type: str
    default: origin
  version:
    description:
      - Release tag to check, for example V(v7.6). Also the name of the scratch clone's directory in O(workdir)
        and the expected content of the version file.
    type: str
    required: true
  workdir:
    description:
      - Directory of the scratch clone; the clone is O(workdir)/O(version). Created when missing.
      - Must not overlap O(checkout) or O(state_dir).
    type: path
    required: true
  keep_workdir:
    description:
      - Keep the scratch clone after the run (for inspection). A stale clone is replaced at the next run anyway.
    type: bool
    default: false
  version_file:
    description:
      - Version file, relative to the release root.
    type: str
    default: VERSION
  manifest_file:
    description:
      - Manifest file holding the docs version, relative to the release root.
    type: str
    default: v7_manifest.json
  docs_version_key:
    description:
      - Key path (dotted, C(a || b) alternatives allowed) of the docs version in O(manifest_file).
    type: str
    default: docs_version
  run_pretag:
    description:
      - Run C(make <pretag_target>) in the scratch clone.
    type: bool
    default: true
  pretag_target:
    description:
      - Make target of the engine's preflight. Defaults to C(pretag-<version>).
    type: str
  pretag_timeout:
    description:
      - Seconds C(make) may take; it is then stopped (its whole process group) and RV(pretag.timed_out) is true.
    type: int
    default: 900
  pretag_path:
    description:
      - C(PATH) for C(make) (the box's PATH, with the venv first). Defaults to the module's own C(PATH).
    type: str
  venv:
    description:
      - The box's virtualenv. C(VIRTUAL_ENV) for C(make); the sanity script runs with its C(bin/python).
      - Required with O(run_sanity).
    type: path
  run_sanity:
    description:
      - Look for the release's sanity script and run it against the live state.
    type: bool
    default: true
  sanity_script:
    description:
      - Sanity script path inside the release (relative). Defaults to C(scripts/runtime_sanity_check_<version>.py)
        with the dots of the version turned into underscores.
    type: str
  state_dir:
    description:
      - The engine's live state directory, given to the sanity script as C(--state-dir); the script only reads it.
      - Required with O(run_sanity).
    type: path
  rollback:
    description:
      - The release an automatic rollback would return to, C(version) (its tag) and C(commit) (the commit that was
        live), as the ledger established it. Checked in the live checkout only (read only, no network); see
        RV(rollback).
    type: dict
extends_documentation_fragment:
  - gpt_hedge.activation.attributes
requirements:
  - git on the target
  - make on the target (with O(run_pretag))
notes:
  - In check mode the module does the same work; it only writes its scratch clone, which is not a change of the box.
    The module never reports a change.
  - C(make) and the sanity script run in their own process group; their output is returned as the last lines only.
seealso:
  - module: gpt_hedge.activation.hedge_version
'''

EXAMPLES = r'''
- name: Clone the target tag into a scratch directory and run its checks
  gpt_hedge.activation.hedge_release_check:
    checkout: /root/hedge-fund
    version: v7.6
    workdir: /var/tmp/gpt-hedge-preflight
    pretag_path: /root/hedge-fund/venv/bin:/usr/local/bin:/usr/bin:/bin
    venv: /root/hedge-fund/venv
    state_dir: /root/hedge-fund/logs/state
  register: release

- name: Assert every check of the tag passed
  ansible.builtin.assert:
    that:
      - release.origin.rc == 0
      - release.tag.found
      - release.version_matches
      - release.docs_version_matches
      - release.pretag.rc == 0
      - release.sanity_script.exists
      - release.sanity.rc == 0
    fail_msg: "{{ release.version }} at {{ release.commit }}: first failed check {{ release.first_failure }}"

- name: Check a rollback target without make and without the sanity script
  gpt_hedge.activation.hedge_release_check:
    checkout: /root/hedge-fund
    version: v7.5
    workdir: /var/tmp/gpt-hedge-preflight
    run_pretag: false
    run_sanity: false
  register: rollback_release
'''

RETURN = r'''
first_failure:
  description:
    - The check that failed and ended the run (the steps after it did not run), null when none failed.
    - One of V(origin), V(tag), V(version_file), V(docs_version), V(pretag), V(sanity_script) (the script is missing),
      V(sanity).
  returned: always
  type: str
  sample: tag
origin:
  description: C(git remote get-url) of O(remote) in the live checkout.
  returned: always
  type: dict
  contains:
    rc:
      description: Exit code of git.
      type: int
    url:
      description: The origin URL (empty when git failed).
      type: str
      sample: git@github.com:acme/hedge-fund.git
    stderr:
      description: What git wrote on stderr, trailing newlines removed.
      type: str
      sample: "error: No such remote 'origin'"
tag:
  description: C(git ls-remote --tags) of the tag on O(remote); run only when the origin URL was read.
  returned: always
  type: dict
  contains:
    checked:
      description: Whether C(git ls-remote) ran.
      type: bool
    rc:
      description: Exit code of C(git ls-remote) (0 when origin answered); null when it did not run.
      type: int
    found:
      description: Whether origin answered and has the tag.
      type: bool
    sha:
      description: The sha origin lists for the tag (the tag object of an annotated tag); null when not found.
      type: str
    stderr:
      description: What git wrote on stderr (why origin is unreachable), trailing newlines removed.
      type: str
tree:
  description: Path of the scratch clone (O(workdir)/O(version)).
  returned: always
  type: str
  sample: /var/tmp/gpt-hedge-preflight/v7.6
cloned:
  description: Whether the scratch clone was made.
  returned: always
  type: bool
removed:
  description: Whether the scratch clone is gone at the end (false with O(keep_workdir)).
  returned: always
  type: bool
commit:
  description: Full sha of the tag's commit (the scratch clone's C(HEAD)); null when not cloned.
  returned: always
  type: str
  sample: 3f1c2a9e0b8d4c7f6a5e4d3c2b1a09f8e7d6c5b4
version:
  description: First line of the version file in the tag (null when missing or empty, or not cloned).
  returned: always
  type: str
  sample: v7.6
docs_version:
  description: Value of O(docs_version_key) in the tag's manifest (null when absent or unreadable).
  returned: always
  type: str
  sample: v7.6
manifest_error:
  description: Why the manifest could not be read (V(missing), V(malformed JSON ...)), else null.
  returned: always
  type: str
expected:
  description: The O(version) the version file must hold.
  returned: always
  type: str
version_matches:
  description: Whether RV(version) equals O(version) (compared without one leading C(v)); false when not cloned.
  returned: always
  type: bool
docs_version_matches:
  description: Whether RV(docs_version) equals RV(version); null when either is missing.
  returned: always
  type: bool
pretag:
  description: C(make <pretag_target>) in the scratch clone.
  returned: always
  type: dict
  contains:
    run:
      description: Whether make ran.
      type: bool
    target:
      description: The make target.
      type: str
      sample: pretag-v7.6
    rc:
      description: Exit code of make (negative signal number when stopped at the timeout, 127 when it cannot be run);
        null when it did not run.
      type: int
    timed_out:
      description: Whether make was stopped at O(pretag_timeout).
      type: bool
    last_line:
      description: The last non-empty line of stderr, else of stdout (empty when there is none).
      type: str
      sample: "make: *** [Makefile:12: pretag-v7.6] Error 1"
    stdout_tail:
      description: The last lines of stdout.
      type: list
      elements: str
    stderr_tail:
      description: The last lines of stderr.
      type: list
      elements: str
sanity_script:
  description: The release's sanity script in the scratch clone.
  returned: always
  type: dict
  contains:
    path:
      description: The script's path in the scratch clone.
      type: str
    exists:
      description: Whether it exists; null when not looked for (O(run_sanity) off, or an earlier check failed).
      type: bool
rollback:
  description: Whether the release of O(rollback) is ready in the live checkout (null without O(rollback)).
  returned: always
  type: dict
  contains:
    version:
      description: The release to return to (O(rollback) C(version)).
      type: str
      sample: v7.5
    commit:
      description: Its commit (O(rollback) C(commit)).
      type: str
    commit_present:
      description: Whether that commit is in the live checkout's object store.
      type: bool
    tag_commit:
      description: The commit the checkout's tag C(version) names, null when the checkout has no such tag.
      type: str
    version_at_commit:
      description: First line of the version file at the commit, null when absent.
      type: str
    ready:
      description: Whether the commit is present, the tag names it and its version file is the version.
      type: bool
    problem:
      description: Why it is not ready (one line), null when ready.
      type: str
      sample: "commit 3f1c2a9e0b8d is not in /root/hedge-fund's object store"
sanity:
  description: C(<venv>/bin/python <sanity_script> --state-dir <state_dir>) in the scratch clone.
  returned: always
  type: dict
  contains:
    run:
      description: Whether the script ran.
      type: bool
    rc:
      description: Exit code of the script (127 when it cannot be run); null when it did not run.
      type: int
    last_line:
      description: The last non-empty line of stderr, else of stdout (empty when there is none).
      type: str
      sample: "RESULT: FAIL"
    stdout_tail:
      description: The last lines of stdout.
      type: list
      elements: str
    stderr_tail:
      description: The last lines of stderr.
      type: list
      elements: str
'''

import os
import re
import shutil
import stat
import sys

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_json import validate_path
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_process import run_sanity_script, run_step
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_release import (
    GitReader,
    first_line,
    match_facts,
    read_worktree_release,
    version_from,
)
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_versions import same_version

# A tag that is one safe path component and a valid git ref name.
VERSION_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._+-]*$')
# A full commit sha (what the ledger records as the live commit).
COMMIT_RE = re.compile(r'^[0-9a-f]{40}([0-9a-f]{24})?$')
# Network git (ls-remote, clone): never wait for a credential prompt.
NETWORK_GIT_ENV = {'GIT_TERMINAL_PROMPT': '0'}


class CloneError(Exception):
    pass


def valid_version(version):
    return (bool(VERSION_RE.match(version)) and '..' not in version
            and not version.endswith('.') and not version.endswith('.lock'))


def within(path, parent):
    """Whether ``path`` is ``parent`` or inside it (both real paths)."""
    return path == parent or path.startswith(parent.rstrip(os.sep) + os.sep)


def overlaps(one, other):
    return within(one, other) or within(other, one)


def _writable_then_retry(func, path):
    """rmtree error handler: make the entry and its directory writable, try once more."""
    for target in (os.path.dirname(path), path):
        try:
            if not os.path.islink(target):
                os.chmod(target, os.stat(target).st_mode | stat.S_IWUSR | stat.S_IXUSR | stat.S_IRUSR)
        except OSError:
            pass
    func(path)


def remove_path(path):
    """Remove a file, a symlink (not its target) or a directory tree; nothing when absent."""
    if os.path.islink(path) or (os.path.lexists(path) and not os.path.isdir(path)):
        os.unlink(path)
    elif os.path.isdir(path):
        if sys.version_info >= (3, 12):
            shutil.rmtree(path, onexc=lambda func, p, exc: _writable_then_retry(func, p))
        else:
            shutil.rmtree(path, onerror=lambda func, p, exc_info: _writable_then_retry(func, p))


class ReleaseCheck(object):
    """The preflight steps of one tag; each records its facts in ``self.result``."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.git = module.get_bin_path('git', required=True)
        self.version = self.params['version']
        self.tree = os.path.join(self.params['workdir'], self.version)
        self.result = dict(
            changed=False, first_failure=None, tree=self.tree, cloned=False, removed=False,
            origin=dict(rc=None, url='', stderr=''),
            tag=dict(checked=False, rc=None, found=False, sha=None, stderr=''),
            commit=None, version=None, docs_version=None, manifest_error=None, expected=self.version,
            version_matches=False, docs_version_matches=None,
            pretag=dict(run=False, target=self.params['pretag_target'], rc=None, timed_out=False, last_line='',
                        stdout_tail=[], stderr_tail=[]),
            sanity_script=dict(path=os.path.join(self.tree, self.params['sanity_script']), exists=None),
            sanity=dict(run=False, rc=None, last_line='', stdout_tail=[], stderr_tail=[]),
            rollback=None,
        )

    def run_git(self, args, cwd=None, network=False):
        env = NETWORK_GIT_ENV if network else None
        rc, out, err = self.module.run_command([self.git] + list(args), cwd=cwd, environ_update=env, check_rc=False)
        return rc, out, err.rstrip('\r\n')

    def fail(self, check):
        self.result['first_failure'] = check
        return False

    # ---------------------------------------------------------------- steps

    def read_origin(self):
        rc, out, err = self.run_git(['-C', self.params['checkout'], 'remote', 'get-url', self.params['remote']])
        url = out.strip()
        self.result['origin'] = dict(rc=rc, url=url, stderr=err)
        return rc == 0 or self.fail('origin')

    def look_up_tag(self):
        rc, out, err = self.run_git(['-C', self.params['checkout'], 'ls-remote', '--tags', self.params['remote'],
                                     'refs/tags/%s' % self.version], network=True)
        listed = [line.split() for line in out.splitlines() if line.strip()]
        found = rc == 0 and bool(listed)
        self.result['tag'] = dict(checked=True, rc=rc, found=found, sha=listed[0][0] if found else None, stderr=err)
        return found or self.fail('tag')

    def clone(self):
        """Fresh scratch clone of the tag; raises CloneError when it cannot be made."""
        tree = self.tree
        try:
            remove_path(tree)
            if not os.path.isdir(self.params['workdir']):
                os.makedirs(self.params['workdir'])
        except OSError as exc:
            raise CloneError('cannot prepare the scratch clone %s: %s' % (tree, exc))
        rc, dummy, err = self.run_git(['clone', '--quiet', '--no-checkout', '--origin', 'origin',
                                       '--reference', self.params['checkout'], '--', self.result['origin']['url'], tree],
                                      cwd=self.params['workdir'], network=True)
        if rc != 0:
            raise CloneError('git clone of %s into %s failed: %s' % (self.result['origin']['url'], tree,
                                                                     first_line(err) or 'exit code %d' % rc))
        self.result['cloned'] = True
        reader = GitReader(self.module, tree)
        commit = reader.resolve('refs/tags/%s' % self.version)
        if commit is None:
            raise CloneError('tag %s is not in the scratch clone of %s' % (self.version, self.result['origin']['url']))
        rc, dummy, err = self.run_git(['-c', 'advice.detachedHead=false', 'checkout', '--quiet', '--force',
                                       '--detach', commit], cwd=tree)
        if rc != 0:
            raise CloneError('cannot check out %s in %s: %s' % (self.version, tree, first_line(err) or rc))
        if os.path.exists(os.path.join(tree, '.gitmodules')):
            rc, dummy, err = self.run_git(['submodule', 'update', '--init', '--recursive'], cwd=tree, network=True)
            if rc != 0:
                raise CloneError('submodules of %s: %s' % (self.version, first_line(err) or rc))
        self.result['commit'] = commit

    def read_version(self):
        params = self.params
        version, docs_version, manifest_error = read_worktree_release(
            self.tree, params['version_file'], params['manifest_file'], params['docs_version_key'])
        version_matches, docs_version_matches = match_facts(version, docs_version, self.version)
        self.result.update(version=version, docs_version=docs_version, manifest_error=manifest_error,
                           version_matches=version_matches, docs_version_matches=docs_version_matches)
        if not version_matches:
            return self.fail('version_file')
        return docs_version_matches is True or self.fail('docs_version')

    def run_pretag(self):
        params = self.params
        env = dict(os.environ)
        if params['pretag_path'] is not None:
            env['PATH'] = params['pretag_path']
        if params['venv'] is not None:
            env['VIRTUAL_ENV'] = params['venv']
        facts = run_step(['make', params['pretag_target']], cwd=self.tree, env=env, timeout=params['pretag_timeout'])
        self.result['pretag'].update(facts)
        return facts['rc'] == 0 or self.fail('pretag')

    def run_sanity(self):
        params = self.params
        facts = run_sanity_script(os.path.join(params['venv'], 'bin', 'python'), params['sanity_script'],
                                  params['state_dir'], chdir=self.tree)
        self.result['sanity_script']['exists'] = facts['exists']
        if not facts['exists']:
            return self.fail('sanity_script')
        self.result['sanity'].update(run=facts['ran'], rc=facts['rc'], last_line=facts['last_line'],
                                     stdout_tail=facts['stdout_tail'], stderr_tail=facts['stderr_tail'])
        return facts['rc'] == 0 or self.fail('sanity')

    def check_rollback(self):
        """Whether the release of ``rollback`` is ready in the live checkout (read only, no network)."""
        target = self.params['rollback'] or {}
        version, commit = str(target.get('version') or ''), str(target.get('commit') or '')
        facts = dict(version=version, commit=commit, commit_present=False, tag_commit=None, version_at_commit=None,
                     ready=False, problem=None)
        reader = GitReader(self.module, self.params['checkout'])
        checkout = self.params['checkout']
        if not valid_version(version) or not COMMIT_RE.match(commit):
            facts['problem'] = 'the release live before this run is not known as a tag and a commit (%s at %s)' % (
                version or 'no version', commit or 'no commit')
        else:
            facts['commit_present'] = reader.resolve(commit) == commit
            facts['tag_commit'] = reader.resolve('refs/tags/%s' % version)
            if facts['commit_present']:
                facts['version_at_commit'] = version_from(reader.show(commit, self.params['version_file']))
            if not facts['commit_present']:
                facts['problem'] = 'commit %s of %s is not in the object store of %s' % (commit[:12], version, checkout)
            elif facts['tag_commit'] is None:
                facts['problem'] = 'tag %s is not in %s' % (version, checkout)
            elif facts['tag_commit'] != commit:
                facts['problem'] = 'tag %s in %s names %s, but %s was live at %s' % (
                    version, checkout, facts['tag_commit'][:12], version, commit[:12])
            elif not same_version(facts['version_at_commit'], version):
                facts['problem'] = '%s at %s is %s, expected %s' % (
                    self.params['version_file'], commit[:12], facts['version_at_commit'] or '(missing)', version)
            facts['ready'] = facts['problem'] is None
        self.result['rollback'] = facts

    def run(self):
        """Every step until the first failed check; the scratch clone is removed in any case."""
        error = None
        if self.params['rollback']:
            self.check_rollback()
        try:
            if self.read_origin() and self.look_up_tag():
                self.clone()
                if self.read_version():
                    if not self.params['run_pretag'] or self.run_pretag():
                        if self.params['run_sanity']:
                            self.run_sanity()
        except CloneError as exc:
            error = str(exc)
        finally:
            if not self.params['keep_workdir']:
                try:
                    remove_path(self.tree)
                except OSError as exc:
                    self.module.warn('could not remove the scratch clone %s: %s' % (self.tree, exc))
            self.result['removed'] = not os.path.lexists(self.tree)
        return error


def check_params(module):
    params = module.params
    version = params['version']
    if not valid_version(version):
        module.fail_json(msg='version %r is not a valid release tag (one path component, a git ref name)' % version)
    if params['run_sanity']:
        missing = [name for name in ('venv', 'state_dir') if not params[name]]
        if missing:
            module.fail_json(msg='run_sanity is True but %s %s empty' % (
                ' and '.join(missing), 'is' if len(missing) == 1 else 'are'))
    remote = params['remote']
    if not remote or remote.startswith('-') or any(c.isspace() for c in remote):
        module.fail_json(msg='remote %r is not a git remote name' % remote)
    if params['pretag_target'] is None:
        params['pretag_target'] = 'pretag-%s' % version
    if params['pretag_target'].startswith('-') or not params['pretag_target'].strip():
        module.fail_json(msg='pretag_target %r is not a make target' % params['pretag_target'])
    if params['pretag_timeout'] <= 0:
        module.fail_json(msg='pretag_timeout must be a positive number of seconds, got %d' % params['pretag_timeout'])
    if params['sanity_script'] is None:
        params['sanity_script'] = 'scripts/runtime_sanity_check_%s.py' % version.replace('.', '_')
    script = params['sanity_script']
    if not script or os.path.isabs(script) or '..' in script.split('/'):
        module.fail_json(msg='sanity_script %r must be a relative path inside the release' % script)
    try:
        validate_path(params['docs_version_key'])
    except ValueError as exc:
        module.fail_json(msg='docs_version_key: %s' % exc)
    checkout = os.path.realpath(params['checkout'])
    tree = os.path.realpath(os.path.join(params['workdir'], version))
    if overlaps(tree, checkout):
        module.fail_json(msg='the scratch clone %s overlaps the live checkout %s' % (tree, checkout))
    if params['state_dir'] is not None and overlaps(tree, os.path.realpath(params['state_dir'])):
        module.fail_json(msg='the scratch clone %s overlaps the state dir %s' % (tree, params['state_dir']))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            checkout=dict(type='path', required=True),
            remote=dict(type='str', default='origin'),
            version=dict(type='str', required=True),
            workdir=dict(type='path', required=True),
            keep_workdir=dict(type='bool', default=False),
            version_file=dict(type='str', default='VERSION'),
            manifest_file=dict(type='str', default='v7_manifest.json'),
            docs_version_key=dict(type='str', default='docs_version', no_log=False),
            run_pretag=dict(type='bool', default=True),
            pretag_target=dict(type='str'),
            pretag_timeout=dict(type='int', default=900),
            pretag_path=dict(type='str'),
            venv=dict(type='path'),
            run_sanity=dict(type='bool', default=True),
            sanity_script=dict(type='str'),
            state_dir=dict(type='path'),
            rollback=dict(type='dict'),
        ),
        required_if=[('run_sanity', True, ('venv', 'state_dir'))],
        supports_check_mode=True,
    )
    check_params(module)
    check = ReleaseCheck(module)
    error = check.run()
    if error is not None:
        module.fail_json(msg=error, **check.result)
    module.exit_json(**check.result)


if __name__ == '__main__':
    main()
