# -*- coding: utf-8 -*-
# Copyright: (c) 2025, GPT-Hedge operations
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One HTTP GET from the box (the dashboard's /healthz), for the modules that
check it inside their own process instead of a separate ansible.builtin.uri task."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.urls import open_url


def http_get(url, timeout=5):
    """GET url; return (status, content, msg). status -1: no answer."""
    try:
        response = open_url(url, method='GET', timeout=timeout, validate_certs=True, follow_redirects='safe')
        return response.getcode(), to_text(response.read(65536), errors='replace'), 'OK'
    except HTTPError as exc:
        body = ''
        try:
            body = to_text(exc.read(65536), errors='replace')
        except Exception:  # pylint: disable=broad-except
            pass
        return exc.code, body, 'HTTP Error %s: %s' % (exc.code, exc.reason)
    except URLError as exc:
        return -1, '', 'Request failed: %s' % to_text(exc.reason)
    except Exception as exc:  # pylint: disable=broad-except
        return -1, '', 'Request failed: %s' % to_text(exc)
