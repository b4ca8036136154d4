# -*- coding: utf-8 -*-
# Copyright: (c) 2025, GPT-Hedge operations
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The version facts of a GPT-Hedge release: its VERSION file and the
``docs_version`` of its manifest, read from a work tree or from a git ref.

Shared by the hedge_version module (the live checkout, or a ref of it) and the
hedge_release_check module (the scratch clone of a tag).  Versions are compared
after stripping whitespace and one leading ``v`` (hedge_runtime_facts).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os

from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_json import get_path
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_versions import same_version

# Git that only reads: no optional locks (``git status`` does not rewrite the
# index), messages in English, never a credential prompt.
READ_ONLY_GIT_ENV = {'GIT_OPTIONAL_LOCKS': '0', 'LC_ALL': 'C', 'GIT_TERMINAL_PROMPT': '0'}


def first_line(text):
    """First non-blank line of ``text``, stripped; None when there is none."""
    for line in text.splitlines():
        line = line.strip()
        if line:
            return line
    return None


class GitReader(object):
    """Read-only git commands in one repository, through the module's run_command."""

    def __init__(self, module, path):
        self.module = module
        self.path = path
        self.git = module.get_bin_path('git', required=True)
        self.env = dict(READ_ONLY_GIT_ENV)

    def run(self, *args):
        return self.module.run_command([self.git, '--no-optional-locks'] + list(args), cwd=self.path,
                                       environ_update=self.env, check_rc=False)

    def resolve(self, ref):
        """Full sha of ``ref`` peeled to a commit, None when it does not resolve."""
        rc, out, dummy = self.run('rev-parse', '--verify', '--quiet', '%s^{commit}' % ref)
        return out.strip() if rc == 0 and out.strip() else None

    def show(self, ref, filename):
        """Text of ``filename`` at ``ref`` (``git show ref:file``), None when absent."""
        rc, out, dummy = self.run('show', '%s:%s' % (ref, filename))
        return out if rc == 0 else None


def read_worktree_file(root, filename):
    """Text of ``root/filename`` (undecodable bytes replaced), None when unreadable."""
    path = os.path.join(root, filename)
    try:
        with open(path, 'rb') as handle:
            return handle.read().decode('utf-8', 'replace')
    except (IOError, OSError):
        return None


def version_from(text):
    """The version a version file holds: its first non-blank line, None when missing or empty."""
    return first_line(text) if text is not None else None


def docs_version_from(text, key):
    """(docs_version, manifest_error) of a manifest's text; key is a hedge_json key path."""
    if text is None:
        return None, 'missing'
    try:
        data = json.loads(text)
    except ValueError as exc:
        return None, 'malformed JSON: %s' % exc
    if not isinstance(data, dict):
        return None, 'not a JSON object'
    value = get_path(data, key)
    if value is None or isinstance(value, (dict, list)):
        return None, None
    return str(value), None


def read_worktree_release(root, version_file, manifest_file, docs_version_key):
    """(version, docs_version, manifest_error) of the release checked out at ``root``."""
    version = version_from(read_worktree_file(root, version_file))
    docs_version, manifest_error = docs_version_from(read_worktree_file(root, manifest_file), docs_version_key)
    return version, docs_version, manifest_error


def match_facts(version, docs_version, expected):
    """(version_matches, docs_version_matches) as hedge_version returns them.

    version_matches is None without ``expected``; docs_version_matches compares
    the docs version with the version file and is None when either is missing.
    """
    if expected:
        version_matches = same_version(version, expected)
    else:
        version_matches = None
    if version is not None and docs_version is not None:
        docs_version_matches = same_version(docs_version, version)
    else:
        docs_version_matches = None
    return version_matches, docs_version_matches
