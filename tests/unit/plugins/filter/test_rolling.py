"""The rolling-activation input filters used in activate.yml's serial / max_fail_percentage and GATE input.fleet."""
import pytest

from ansible_collections.gpt_hedge.activation.plugins.filter.rolling import rolling_percent, rolling_size


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, 1), ("2", 2), (" 12 ", 12), ("1%", "1%"), ("25%", "25%"), ("100%", "100%"),
        (0, None), ("0", None), (-1, None), ("abc", None), ("101%", None), ("0%", None),
        ("2.5", None), ("", None), (None, None), (True, None), ("1 %", None),
    ],
)
def test_rolling_size(value, expected):
    assert rolling_size(value, None) == expected


def test_rolling_size_fallback():
    assert rolling_size("abc") == 1
    assert rolling_size("abc", "100%") == "100%"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, 0), ("0", 0), (50, 50), ("100", 100), (101, None), (-1, None), ("10%", None), ("x", None), (None, None),
     (False, None)],
)
def test_rolling_percent(value, expected):
    assert rolling_percent(value, None) == expected


def test_rolling_percent_fallback():
    assert rolling_percent("x") == 0
