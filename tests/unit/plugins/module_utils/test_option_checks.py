"""The option checks every log-scanning and health-polling module shares (hedge_logs.check_scan_options,
hedge_http.check_http_options): one line naming the option, the same in hedge_logscan, hedge_verify and
hedge_bake."""
from __future__ import annotations

import pytest

from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_http import check_http_options
from ansible_collections.gpt_hedge.activation.plugins.module_utils.hedge_logs import check_scan_options


def scan(**overrides):
    options = {"path": "/var/log/hedge-executor.out.log", "offset": 1024, "err_offset": 0, "timeout": 60,
               "poll_interval": 0.5, "boot_pattern": None, "boot_version_pattern": None,
               "error_pattern": None, "warning_pattern": None, "publish_pattern": "state_publish",
               "publish_error_pattern": None, "publish_error_limit": 1, "max_lines": 20}
    options.update(overrides)
    return options


@pytest.mark.parametrize(
    ("overrides", "expected_version", "message"),
    [
        ({}, "v7.6", None),
        ({"offset": -1}, None, "logs.offset must not be negative"),
        ({"max_lines": -5}, None, "logs.max_lines must not be negative"),
        ({"poll_interval": 0}, None, "logs.poll_interval must be positive"),
        ({"error_pattern": "(ERROR"}, None, "logs.error_pattern is not a valid regular expression: "),
        ({"boot_version_pattern": r"engine version v\S+"}, None,
         "logs.boot_version_pattern needs one capture group for the version"),
        ({"boot_pattern": "Booting (GPT-Hedge {version}"}, "v7.6", "logs.boot_pattern is not a valid regular expression"),
        # Not checked without an expected version (hedge_bake has no boot line to wait for).
        ({"boot_pattern": "Booting (GPT-Hedge {version}"}, None, None),
    ],
)
def test_check_scan_options(overrides, expected_version, message):
    error = check_scan_options(scan(**overrides), prefix="logs.", expected_version=expected_version)
    assert (error is None) if message is None else error.startswith(message), error


@pytest.mark.parametrize(("null_offsets", "expected"), [(0, 0), (None, None)])
def test_null_offsets_are_the_start_or_stay_null(null_offsets, expected):
    options = scan(offset=None, err_offset=None)
    assert check_scan_options(options, null_offsets=null_offsets) is None
    assert (options["offset"], options["err_offset"]) == (expected, expected)


def test_options_a_module_does_not_have_are_not_checked():
    # hedge_bake's logs: no timeout, no poll_interval, no boot patterns
    assert check_scan_options({"offset": None, "err_offset": None, "publish_error_limit": 1, "max_lines": 5,
                               "error_pattern": "ERROR"}, null_offsets=None) is None


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"url": "http://127.0.0.1:8501/healthz", "request_timeout": 5, "timeout": 30}, None),
        ({"url": "https://box1.internal/healthz", "request_timeout": 5}, None),
        ({"url": "127.0.0.1:8501/healthz", "request_timeout": 5}, "healthz.url must be an http:// or https:// URL"),
        ({"url": "http:///healthz", "request_timeout": 5}, "healthz.url must be an http:// or https:// URL"),
        ({"url": "http://127.0.0.1:8501/healthz", "request_timeout": 0}, "healthz.request_timeout must be positive"),
        ({"url": "http://127.0.0.1:8501/healthz", "request_timeout": 5, "timeout": -1},
         "healthz.timeout must not be negative"),
    ],
)
def test_check_http_options(options, message):
    error = check_http_options(options)
    assert (error is None) if message is None else error.startswith(message), error
