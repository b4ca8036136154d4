"""The bench_timer callback: the BENCH lines bench/bench.py reads (failed gate with its name, verified rollback)."""
from types import SimpleNamespace

import pytest

from ansible_collections.gpt_hedge.activation.plugins.callback.bench_timer import CallbackModule


class Shown:
    def __init__(self):
        self.lines = []

    def display(self, msg, *args, **kwargs):
        self.lines.append(msg)


def callback():
    module = CallbackModule()
    module._display = Shown()
    return module


def result(name, msg):
    return SimpleNamespace(_result={"msg": msg}, _task=SimpleNamespace(get_name=lambda: name))


@pytest.mark.parametrize(
    ("msg", "gate"),
    [
        ("GATE verify.surfaces_fresh FAILED: stale: nav.json updated_ts 3600 s old (max 120 s)", "verify.surfaces_fresh"),
        ("GATE preflight.pretag FAILED: make pretag-v7.6 exited 2: 1 failed, 9 passed in 0.10s", "preflight.pretag"),
        ("GATE restart.programs_running FAILED: not RUNNING: hedge-executor", "restart.programs_running"),
    ],
)
def test_failed_gate_line_names_the_gate(msg, gate):
    module = callback()
    module.v2_runner_on_failed(result("Gate x", msg))
    (line,) = module._display.lines
    tag, event, stamp, name = line.split()
    assert (tag, event, name) == ("BENCH", "gate_failed", gate)
    assert float(stamp) > 0


@pytest.mark.parametrize(
    "msg",
    ["activation of v7.6 on localbox refused at gate preflight.pretag: nothing was changed",
     "cannot write history record", "GATE input.box passed: checkout /root/hedge-fund"],
)
def test_other_failures_print_nothing(msg):
    module = callback()
    module.v2_runner_on_failed(result("Open the history record", msg))
    assert module._display.lines == []


def test_verified_rollback_line():
    module = callback()
    module.v2_runner_on_ok(result("gpt_hedge.activation.rollback : Note the verified rollback", ""))
    module.v2_runner_on_ok(result("Note the failed rollback", ""))
    assert [line.split()[:2] for line in module._display.lines] == [["BENCH", "rollback_verified"]]
