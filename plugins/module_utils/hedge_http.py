# -*- coding: utf-8 -*-
# Copyright: (c) 2025, GPT-Hedge operations
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One HTTP GET from the box (the dashboard's /healthz), for the modules that
check it inside their own process (hedge_verify, hedge_incidents) instead of a
separate ansible.builtin.uri task. Messages are worded as ansible.builtin.uri's."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible.module_utils.common.text.converters import to_native, to_text
from ansible.module_utils.six.moves import http_client
from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.urls import ConnectionError as UrlConnectionError
from ansible.module_utils.urls import open_url

MAX_CONTENT = 64 * 1024


def _body(response):
    try:
        data = response.read(MAX_CONTENT + 1)
    except Exception:  # pylint: disable=broad-except
        return ''
    text = to_text(data[:MAX_CONTENT], errors='surrogate_or_replace')
    return text + ('...' if len(data) > MAX_CONTENT else '')


def check_http_options(options, prefix='healthz.'):
    """The checks of a health URL option set (url, request_timeout, and timeout when polled): the first
    problem as one line naming the option, else None."""
    if not re.match(r'(?i)^https?://[^/\s]+', options['url']):
        return '%surl must be an http:// or https:// URL, got %r' % (prefix, options['url'])
    if options.get('timeout') is not None and options['timeout'] < 0:
        return '%stimeout must not be negative' % prefix
    if options['request_timeout'] <= 0:
        return '%srequest_timeout must be positive' % prefix
    return None


def http_get(url, timeout=5, validate_certs=True):
    """One GET: ``(status, content, msg)``; status -1: no answer. Never raises."""
    try:
        response = open_url(url, method='GET', timeout=timeout, validate_certs=validate_certs,
                            follow_redirects='safe', http_agent='ansible-httpget')
    except HTTPError as exc:
        content = _body(exc) if getattr(exc, 'fp', None) is not None else ''
        status, msg = exc.code, to_native(exc)
    except URLError as exc:
        content, status, msg = '', int(getattr(exc, 'code', -1) or -1), 'Request failed: %s' % to_native(exc)
    except (UrlConnectionError, ValueError) as exc:
        content, status, msg = '', -1, to_native(exc)
    except http_client.BadStatusLine as exc:
        content, status = '', -1
        msg = 'Connection failure: connection was closed before a valid response was received: %s' % to_native(exc.line)
    except OSError as exc:
        content, status, msg = '', -1, 'Connection failure: %s' % to_native(exc)
    except Exception as exc:  # pylint: disable=broad-except
        content, status, msg = '', -1, 'An unknown error occurred: %s' % to_native(exc)
    else:
        with response:
            status = response.getcode()
            length = response.headers.get('Content-Length', 'unknown')
            content = _body(response)
        msg = 'OK (%s bytes)' % length
    if status != 200:
        msg = 'Status code was %s and not [200]: %s' % (status, msg)
    return status, content, msg
