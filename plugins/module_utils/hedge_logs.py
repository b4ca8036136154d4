# -*- coding: utf-8 -*-
# Copyright: (c) 2025, GPT-Hedge operations
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Executor log scanning helpers (read-only) used by hedge_logscan."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re
import time

from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_versions import normalize_version

DEFAULT_ERROR_PATTERN = r'(?i)\b(?:ERROR|CRITICAL|FATAL)\b|Traceback|(?-i:\b\w+(?:Error|Exception):)'
DEFAULT_WARNING_PATTERN = r'(?i)\bWARN(?:ING)?\b'
DEFAULT_PUBLISH_PATTERN = r'state_publish'
DEFAULT_PUBLISH_ERROR_PATTERN = (r'(?i)^(?=.*state_publish)'
                                 r'(?=.*(?:\berror\b|\bfail(?:ed|ure|s|ing)?\b|exception|traceback)).*')
# one capture group: the version token on a boot line
DEFAULT_BOOT_VERSION_PATTERN = r'(?i)version\W{0,3}(v?\d+(?:\.\d+)+(?:[-+][0-9A-Za-z][0-9A-Za-z.]*)?)'
VERSION_PLACEHOLDER = '{version}'

MAX_LINE_CHARS = 1000
CHUNK_SIZE = 1024 * 1024


# Options of a log scan: hedge_logscan's, and hedge_verify's `logs`.
SCAN_OPTIONS = dict(
    path=dict(type='path', required=True),
    err_path=dict(type='path'),
    offset=dict(type='int'),
    err_offset=dict(type='int'),
    timeout=dict(type='int', default=60),
    poll_interval=dict(type='float', default=0.5),
    require_publish=dict(type='bool', default=True),
    boot_pattern=dict(type='str'),
    boot_version_pattern=dict(type='str'),
    error_pattern=dict(type='str'),
    warning_pattern=dict(type='str'),
    publish_pattern=dict(type='str', default=DEFAULT_PUBLISH_PATTERN),
    publish_error_pattern=dict(type='str'),
    publish_error_limit=dict(type='int', default=1),
    max_lines=dict(type='int', default=20),
)


def version_token_regex(version):
    """Regex matching exactly ``version`` as a token (optional leading v).

    ``v7.6`` matches ``v7.6``, ``7.6``, ``V7.6.`` (sentence end) but not
    ``v7.60``, ``v7.6.1``, ``v7.6-rc1`` or ``xv7.6``.
    """
    bare = normalize_version(version)
    return r'(?<![\w.+-])[vV]?' + re.escape(bare) + r'(?![\w]|[.+-]\w)'


def boot_regex(version, pattern=None):
    """Compiled regex for the boot line of ``version``.

    Default: case-insensitive ``version`` followed (later on the line) by the
    exact version token.  A custom ``pattern`` may contain ``{version}``,
    replaced by the token regex.
    """
    token = version_token_regex(version)
    if pattern:
        return re.compile(pattern.replace(VERSION_PLACEHOLDER, token))
    return re.compile(r'(?i)version.*?' + token)


SCAN_NUMBERS = ('offset', 'err_offset', 'timeout', 'publish_error_limit', 'max_lines')
SCAN_PATTERNS = ('boot_version_pattern', 'error_pattern', 'warning_pattern', 'publish_pattern', 'publish_error_pattern')


def check_scan_options(options, prefix='', expected_version=None, null_offsets=0):
    """The checks of the scan options, for every module that scans logs (hedge_logscan, hedge_verify's and
    hedge_bake's ``logs``): the first problem as one line naming the option (``prefix`` + name), else None.
    Options a module does not have are not checked. A null offset becomes ``null_offsets`` (in place; None
    keeps it null, hedge_bake's "from the end")."""
    for name in ('offset', 'err_offset'):
        if name in options and options[name] is None:
            options[name] = null_offsets
    for name in SCAN_NUMBERS:
        if options.get(name) is not None and options[name] < 0:
            return '%s%s must not be negative' % (prefix, name)
    if 'poll_interval' in options and options['poll_interval'] <= 0:
        return '%spoll_interval must be positive' % prefix
    for name in SCAN_PATTERNS:
        if options.get(name):
            try:
                compiled = re.compile(options[name])
            except re.error as exc:
                return '%s%s is not a valid regular expression: %s' % (prefix, name, exc)
            if name == 'boot_version_pattern' and compiled.groups < 1:
                return '%sboot_version_pattern needs one capture group for the version' % prefix
    if expected_version:
        try:
            boot_regex(expected_version, options.get('boot_pattern'))
        except re.error as exc:
            return '%sboot_pattern is not a valid regular expression: %s' % (prefix, exc)
    return None


def file_size(path):
    """Size of ``path`` in bytes, or None when it does not exist."""
    try:
        return os.stat(path).st_size
    except OSError:
        return None


def clip(line):
    line = line.rstrip('\r\n')
    if len(line) > MAX_LINE_CHARS:
        return line[:MAX_LINE_CHARS] + '...'
    return line


class LogReader(object):
    """Incrementally read complete lines of a log from a byte offset.

    An offset beyond the file size, a shrinking file or a new inode means the
    log was rotated or truncated: reading restarts at 0 and ``rotated`` is set.
    """

    def __init__(self, path, offset=0):
        self.path = path
        self.offset = max(int(offset or 0), 0)
        self.pos = None
        self.inode = None
        self.present = False
        self.rotated = False
        self.size = 0
        self._partial = b''

    def read_lines(self, final=False):
        """Yield new complete lines (str); with ``final`` also a trailing partial line."""
        try:
            stat = os.stat(self.path)
        except OSError:
            self.present = False
            stat = None
        if stat is not None:
            self.present = True
            self.size = stat.st_size
            if self.pos is None:
                self.inode = stat.st_ino
                if self.offset > stat.st_size:
                    self.rotated = True
                    self.pos = 0
                else:
                    self.pos = self.offset
            elif stat.st_ino != self.inode or stat.st_size < self.pos:
                self.rotated = True
                self.inode = stat.st_ino
                self.pos = 0
                self._partial = b''
            if stat.st_size > self.pos:
                try:
                    with open(self.path, 'rb') as handle:
                        handle.seek(self.pos)
                        while True:
                            chunk = handle.read(CHUNK_SIZE)
                            if not chunk:
                                break
                            self.pos += len(chunk)
                            data = self._partial + chunk
                            parts = data.split(b'\n')
                            self._partial = parts.pop()
                            for raw in parts:
                                yield raw.decode('utf-8', 'replace')
                except (IOError, OSError):
                    pass
        if final and self._partial:
            raw, self._partial = self._partial, b''
            yield raw.decode('utf-8', 'replace')


class LogScan(object):
    """Accumulates facts from out-log and err-log lines."""

    def __init__(self, expected_version=None, boot_pattern=None, boot_version_pattern=None,
                 error_pattern=None, warning_pattern=None, publish_pattern=None,
                 publish_error_pattern=None, max_lines=20):
        self.expected = expected_version or None
        self.expected_norm = normalize_version(self.expected) if self.expected else None
        self.boot_re = boot_regex(self.expected, boot_pattern) if self.expected else None
        self.version_re = re.compile(boot_version_pattern or DEFAULT_BOOT_VERSION_PATTERN)
        self.error_re = re.compile(error_pattern or DEFAULT_ERROR_PATTERN)
        self.warning_re = re.compile(warning_pattern or DEFAULT_WARNING_PATTERN)
        self.publish_re = re.compile(publish_pattern or DEFAULT_PUBLISH_PATTERN)
        self.publish_error_re = re.compile(publish_error_pattern or DEFAULT_PUBLISH_ERROR_PATTERN)
        self.max_lines = max(int(max_lines), 0)

        self.boot_line = None
        self.boot_version = None
        self.versions_seen = []
        self.error_lines = []
        self.error_count = 0
        self.warning_count = 0
        # publish counters: since the last boot line (out log) and in total
        self._since_boot = self._new_publish()
        self._total = self._new_publish()
        self._err_publish = self._new_publish()

    @staticmethod
    def _new_publish():
        return {'count': 0, 'errors': 0, 'error_lines': []}

    # ---- line feeding
    def _boot_version(self, line):
        match = self.version_re.search(line)
        if not match:
            return None
        token = match.group(1) if match.groups() else match.group(0)
        return token.rstrip('.') if token else None

    def _publish(self, line, buckets):
        if not self.publish_re.search(line):
            return
        is_error = bool(self.publish_error_re.search(line))
        for bucket in buckets:
            if is_error:
                bucket['errors'] += 1
                if len(bucket['error_lines']) < self.max_lines:
                    bucket['error_lines'].append(clip(line))
            else:
                bucket['count'] += 1

    def classify(self, line):
        """'error', 'warning' or None; the earliest match on the line wins."""
        err = self.error_re.search(line)
        warn = self.warning_re.search(line)
        if err and (not warn or err.start() <= warn.start()):
            return 'error'
        if warn:
            return 'warning'
        return None

    def _errors(self, line):
        kind = self.classify(line)
        if kind == 'error':
            self.error_count += 1
            if len(self.error_lines) < self.max_lines:
                self.error_lines.append(clip(line))
        elif kind == 'warning':
            self.warning_count += 1

    def feed_out(self, line, scan_errors=False):
        version = self._boot_version(line)
        if version is not None and version not in self.versions_seen:
            self.versions_seen.append(version)
        is_boot = False
        if self.boot_re is not None:
            is_boot = bool(self.boot_re.search(line))
        elif version is not None:
            is_boot = True
        if is_boot:
            self.boot_line = clip(line)
            self.boot_version = self.expected or version
            self._since_boot = self._new_publish()
        self._publish(line, (self._since_boot, self._total))
        if scan_errors:
            self._errors(line)

    def feed_err(self, line):
        self._publish(line, (self._err_publish,))
        self._errors(line)

    # ---- results
    @property
    def boot_found(self):
        return self.boot_line is not None

    def publish_facts(self):
        out = self._since_boot if self.boot_found else self._total
        err = self._err_publish
        lines = (out['error_lines'] + err['error_lines'])[:self.max_lines]
        return {
            'publish_count': out['count'] + err['count'],
            'publish_error_count': out['errors'] + err['errors'],
            'publish_error_lines': lines,
        }

    def other_boot_versions(self):
        if self.expected_norm is not None:
            return [v for v in self.versions_seen if normalize_version(v) != self.expected_norm]
        current = normalize_version(self.boot_version) if self.boot_version else None
        return [v for v in self.versions_seen if normalize_version(v) != current]

    def done(self, require_publish=True):
        if not self.boot_found:
            return False
        return not require_publish or self.publish_facts()['publish_count'] >= 1


def scan_logs(path, err_path=None, offset=0, err_offset=0, expected_version=None, timeout=60,
              poll_interval=0.5, require_publish=True, publish_error_limit=1, max_lines=20,
              boot_pattern=None, boot_version_pattern=None, error_pattern=None, warning_pattern=None,
              publish_pattern=None, publish_error_pattern=None, clock=time.time, sleep=time.sleep):
    """Scan the executor log(s) from the given offsets, polling until the boot
    line (and a publish line after it) shows up or ``timeout`` passes.

    Without ``expected_version`` there is no waiting: one pass is made.
    """
    if err_path and os.path.abspath(err_path) == os.path.abspath(path):
        err_path = None
    scan = LogScan(expected_version=expected_version, boot_pattern=boot_pattern,
                   boot_version_pattern=boot_version_pattern, error_pattern=error_pattern,
                   warning_pattern=warning_pattern, publish_pattern=publish_pattern,
                   publish_error_pattern=publish_error_pattern, max_lines=max_lines)
    out_reader = LogReader(path, offset)
    err_reader = LogReader(err_path, err_offset) if err_path else None
    start = clock()
    deadline = start + (max(float(timeout), 0.0) if expected_version else 0.0)

    def pump(final):
        for line in out_reader.read_lines(final=final):
            scan.feed_out(line, scan_errors=err_reader is None)
        if err_reader is not None:
            for line in err_reader.read_lines(final=final):
                scan.feed_err(line)

    while True:
        pump(False)
        if scan.done(require_publish) or clock() >= deadline:
            break
        sleep(max(float(poll_interval), 0.01))
    pump(True)
    end = clock()

    publish = scan.publish_facts()
    result = {
        'now': end,
        'present': out_reader.present,
        'err_present': err_reader.present if err_reader else None,
        'out_size': out_reader.size if out_reader.present else 0,
        'err_size': (err_reader.size if err_reader.present else 0) if err_reader else 0,
        'expected_version': expected_version,
        'boot_line_found': scan.boot_found,
        'boot_line': scan.boot_line,
        'other_boot_versions': scan.other_boot_versions(),
        'waited_s': round(end - start, 1),
        'error_lines': scan.error_lines,
        'error_count': scan.error_count,
        'warning_count': scan.warning_count,
        'publish_count': publish['publish_count'],
        'publish_error_count': publish['publish_error_count'],
        'publish_error_lines': publish['publish_error_lines'],
        'publish_ok': publish['publish_count'] >= 1 and publish['publish_error_count'] <= publish_error_limit,
        'rotated': out_reader.rotated or bool(err_reader and err_reader.rotated),
        'out_rotated': out_reader.rotated,
        'err_rotated': err_reader.rotated if err_reader else None,
    }
    return result


def record_offsets(path, err_path=None, clock=time.time):
    """Current sizes of the log(s) (0 when absent) and the time, without scanning."""
    out_size = file_size(path)
    err_size = file_size(err_path) if err_path else None
    return {
        'now': clock(),
        'present': out_size is not None,
        'err_present': (err_size is not None) if err_path else None,
        'out_size': out_size or 0,
        'err_size': err_size or 0,
    }
