#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, GPT-Hedge operations
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: hedge_version
short_description: Read the version facts of a GPT-Hedge engine checkout
description:
  - Reads the C(VERSION) file and the C(docs_version) of C(v7_manifest.json) of a GPT-Hedge engine git checkout,
    the commit, the exact tag at C(HEAD) and whether the work tree is dirty.
  - With O(ref), the files are read from that git ref with C(git show <ref>:<file>) without checking anything out.
    A ref that does not exist is reported as RV(ref_exists=false), not as a module failure.
  - The module only reads. It returns facts and does not decide gates; assert on the returned values.
  - Versions are compared after stripping whitespace and one leading C(v), so C(7.6) matches C(v7.6).
version_added: 0.1.0
author:
  - GPT-Hedge operations (@gpt-hedge)
options:
  path:
    description:
      - Path of the engine checkout (a git work tree).
    type: path
    required: true
  ref:
    description:
      - Git ref (tag, branch or commit) to read the files from instead of the work tree.
      - When set, RV(tag) and RV(dirty) are V(null).
    type: str
  expected:
    description:
      - Expected version, for example V(v7.6). Sets RV(version_matches).
    type: str
  version_file:
    description:
      - Version file, relative to the checkout root.
    type: str
    default: VERSION
  manifest_file:
    description:
      - Manifest file holding the docs version, relative to the checkout root.
    type: str
    default: v7_manifest.json
  docs_version_key:
    description:
      - Key path (dotted, C(a || b) alternatives allowed) of the docs version in O(manifest_file).
    type: str
    default: docs_version
  remote:
    description:
      - Name of a git remote, for example V(origin), whose URL is returned as RV(remote_url) (one module run instead of a
        separate C(git remote get-url)).
    type: str
  resolve:
    description:
      - Another git ref to resolve besides, for example V(refs/tags/v7.6) after a checkout (is HEAD the tag's commit?);
        its commit is returned in RV(resolved).
    type: str
  include_untracked:
    description:
      - Whether untracked files count as dirty (as in plain C(git status --porcelain)).
    type: bool
    default: true
extends_documentation_fragment:
  - gpt_hedge.activation.attributes
requirements:
  - git on the target
notes:
  - Git is run with optional locks disabled, so that C(git status) does not rewrite the index.
seealso:
  - module: gpt_hedge.activation.hedge_verify
'''

EXAMPLES = r'''
- name: Read the version facts of the engine checkout
  gpt_hedge.activation.hedge_version:
    path: /root/hedge-fund
    expected: v7.6
  register: hedge_version

- name: Assert the checkout holds the target version and is clean
  ansible.builtin.assert:
    that:
      - hedge_version.version_matches
      - hedge_version.docs_version_matches
      - not hedge_version.dirty
    fail_msg: "VERSION {{ hedge_version.version }} at {{ hedge_version.commit }}, dirty: {{ hedge_version.dirty_files }}"

- name: Read the version held by the previous stable tag without checking it out
  gpt_hedge.activation.hedge_version:
    path: /root/hedge-fund
    ref: v7.5
  register: rollback_version
'''

RETURN = r'''
remote_url:
  description: URL of the remote O(remote) (null when it has none).
  returned: when O(remote) is given
  type: str
  sample: https://github.com/gpt-hedge/hedge-fund.git
remote_error:
  description: Why RV(remote_url) is null (git's first error line), else null.
  returned: when O(remote) is given
  type: str
resolved:
  description: The ref O(resolve) and its commit (C(exists) false and C(commit) null when it does not exist).
  returned: when O(resolve) is given
  type: dict
  sample: {ref: refs/tags/v7.6, commit: 4f2c9e1d8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d, exists: true}
version:
  description: First line of the version file (null when missing, empty, or the ref does not exist).
  returned: always
  type: str
  sample: v7.6
docs_version:
  description: Value of O(docs_version_key) in the manifest (null when absent or unreadable).
  returned: always
  type: str
  sample: v7.6
manifest_error:
  description: Why the manifest could not be read (V(missing), V(malformed JSON ...)), else null.
  returned: always
  type: str
commit:
  description: Full sha of O(ref) (peeled to a commit) or of C(HEAD); null when the ref does not exist.
  returned: always
  type: str
  sample: 3f1c2a9e0b8d4c7f6a5e4d3c2b1a09f8e7d6c5b4
ref:
  description: The ref that was read, null for the work tree.
  returned: always
  type: str
ref_exists:
  description: Whether O(ref) resolves to a commit (true in work-tree mode).
  returned: always
  type: bool
tag:
  description: Exact tag at C(HEAD) (O(expected) preferred when several tags point at it); null with O(ref) or when none.
  returned: always
  type: str
  sample: v7.6
tags:
  description: All tags pointing at C(HEAD) (empty with O(ref)).
  returned: always
  type: list
  elements: str
expected:
  description: The O(expected) value.
  returned: always
  type: str
version_matches:
  description: Whether RV(version) equals O(expected); null when O(expected) is not given.
  returned: always
  type: bool
docs_version_matches:
  description: Whether RV(docs_version) equals RV(version); null when either is missing.
  returned: always
  type: bool
dirty:
  description: Whether C(git status --porcelain) is non-empty; null with O(ref).
  returned: always
  type: bool
dirty_count:
  description: Number of C(git status --porcelain) entries; null with O(ref).
  returned: always
  type: int
dirty_tracked:
  description: Whether any C(git status --porcelain) entry is a tracked change (not an untracked C(??) entry); null with O(ref).
  returned: always
  type: bool
dirty_files:
  description:
    - C(git status --porcelain) lines (two status letters, a space, the path), at most 20.
      Tracked changes come before untracked (C(?? )) entries.
  returned: always
  type: list
  elements: str
  sample: [" M config/risk_limits.json", "?? notes.txt"]
'''

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_versions import normalize_version
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_json import validate_path
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_release import (
    GitReader,
    docs_version_from,
    first_line,
    match_facts,
    read_worktree_release,
    version_from,
)

DIRTY_FILES_CAP = 20


def parse_porcelain(text):
    """Non-empty ``git status --porcelain`` lines ("XY path"), tracked changes first."""
    lines = [line for line in text.splitlines() if len(line) >= 4]
    tracked = [line for line in lines if not line.startswith('??')]
    untracked = [line for line in lines if line.startswith('??')]
    return tracked + untracked, bool(tracked)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            ref=dict(type='str'),
            expected=dict(type='str'),
            version_file=dict(type='str', default='VERSION'),
            manifest_file=dict(type='str', default='v7_manifest.json'),
            docs_version_key=dict(type='str', default='docs_version', no_log=False),
            include_untracked=dict(type='bool', default=True),
            remote=dict(type='str'),
            resolve=dict(type='str'),
        ),
        supports_check_mode=True,
    )
    params = module.params
    path = params['path']
    ref = params['ref'] or None
    try:
        validate_path(params['docs_version_key'])
    except ValueError as exc:
        module.fail_json(msg='docs_version_key: %s' % exc)
    for name in ('ref', 'resolve', 'remote'):
        value = params[name]
        if value and (value.startswith('-') or any(c.isspace() for c in value)):
            module.fail_json(msg='%s %r is not a valid git %s' % (name, value, 'remote name' if name == 'remote' else 'ref'))
    if not os.path.isdir(path):
        module.fail_json(msg='path %s does not exist or is not a directory' % path)

    git = GitReader(module, path)
    rc, out, err = git.run('rev-parse', '--is-inside-work-tree')
    if rc != 0 or out.strip() != 'true':
        detail = first_line(err or '') or 'not a git work tree'
        module.fail_json(msg='path %s is not a git checkout: %s' % (path, detail))
    rc, top, dummy = git.run('rev-parse', '--show-toplevel')
    root = top.strip() if rc == 0 and top.strip() else path

    result = dict(changed=False, ref=ref, expected=params['expected'], version=None, docs_version=None,
                  manifest_error=None, commit=None, ref_exists=True, tag=None, tags=[],
                  dirty=None, dirty_tracked=None, dirty_count=None, dirty_files=[])

    if ref is not None:
        commit = git.resolve(ref)
        result['commit'] = commit
        result['ref_exists'] = commit is not None
        if commit is not None:
            result['version'] = version_from(git.show(commit, params['version_file']))
            manifest = git.show(commit, params['manifest_file'])
            result['docs_version'], result['manifest_error'] = docs_version_from(manifest, params['docs_version_key'])
        else:
            result['manifest_error'] = 'ref %s does not exist' % ref
    else:
        result['commit'] = git.resolve('HEAD')
        result['version'], result['docs_version'], result['manifest_error'] = read_worktree_release(
            root, params['version_file'], params['manifest_file'], params['docs_version_key'])
        if result['commit'] is not None:
            rc, out, dummy = git.run('tag', '--points-at', 'HEAD', '--sort=-v:refname')
            tags = [t.strip() for t in out.splitlines() if t.strip()] if rc == 0 else []
            result['tags'] = tags
            if tags:
                wanted = normalize_version(params['expected']) if params['expected'] else None
                preferred = [t for t in tags if wanted is not None and normalize_version(t) == wanted]
                result['tag'] = (preferred or tags)[0]
        status_args = ['status', '--porcelain']
        if not params['include_untracked']:
            status_args.append('--untracked-files=no')
        rc, out, err = git.run(*status_args)
        if rc != 0:
            module.fail_json(msg='git status failed in %s: %s' % (path, first_line(err or '') or rc))
        files, tracked = parse_porcelain(out)
        result['dirty'] = bool(files)
        result['dirty_tracked'] = tracked
        result['dirty_count'] = len(files)
        result['dirty_files'] = files[:DIRTY_FILES_CAP]

    if params['remote']:
        rc, out, err = git.run('remote', 'get-url', params['remote'])
        result['remote_url'] = out.strip() if rc == 0 and out.strip() else None
        result['remote_error'] = None if result['remote_url'] else (first_line(err or '') or 'no URL')
    if params['resolve']:
        commit = git.resolve(params['resolve'])
        result['resolved'] = dict(ref=params['resolve'], commit=commit, exists=commit is not None)

    result['version_matches'], result['docs_version_matches'] = match_facts(
        result['version'], result['docs_version'], params['expected'])

    module.exit_json(**result)


if __name__ == '__main__':
    main()
