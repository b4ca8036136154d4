"""bench/targets.py: the targets of issue #20 from one run's measurements, and the CI figure given by hand."""
import copy
import importlib.util
import json

import benchpath
import pytest
import targets

LOAD = [3.12, 2.4, 2.05]

# Measurements as bench.py records them (figures of a loaded-machine run).
MEASURED = {
    "single": {"activation_s": 16.83, "rc": 0, "cpu_s": {"controller": 8.74, "boxes": 5.69},
               "engine_downtime_s": 1.45, "load": LOAD},
    "baseline": {"baseline_s": 3.2, "rc": 0, "load": LOAD},
    "floor": {"floor_s": 3.19, "bare_restart_downtime_s": 1.31, "load": LOAD},
    "rollback": {"failed_gate_to_verified_rollback_s": 8.82, "failed_gate": "verify.engine_version",
                 "failed_gate_to_stop_s": 5.9, "failed_gate_to_restarted_s": 9.4, "bare_restart_s": 3.8,
                 "outcomes": [["activation", "rolled_back"], ["auto_rollback", "success"]],
                 "load": LOAD, "bare_restart_load": [3.3, 2.5, 2.1]},
    "detect": {"activation_s": 150.2, "rc": 2, "failed_gate": "verify.surfaces_fresh",
               "restart_to_failed_gate_s": 124.6, "load": LOAD},
    "fleet": [{"n": 1, "canary": "100%", "seconds": 13.89, "cpu_s_per_box": {"controller": 7.02, "boxes": 4.39},
               "load": LOAD},
              {"n": 12, "canary": "100%", "seconds": 83.01, "cpu_s_per_box": {"controller": 5.45, "boxes": 6.52},
               "load": [6.1, 4.0, 3.0]}],
}
CI = {"seconds": 1740, "measured": "clean-clone .ci/run, quiet 2-core machine", "source": "issue #20"}


@pytest.fixture(name="ci_file")
def fixture_ci_file(tmp_path):
    path = tmp_path / "ci_wall.json"
    path.write_text(json.dumps(CI))
    return path


def built(ci_file, **changes):
    measured = copy.deepcopy(MEASURED)
    for key, values in changes.items():
        measured[key].update(values)
    return targets.build(measured, targets.ci_wall(ci_file))


@pytest.mark.parametrize(
    ("name", "value", "reference", "ratio", "met"),
    [
        ("engine_downtime", 1.45, 1.31, 1.11, True),
        ("bad_release_exposure", 9.4, 3.8, 2.47, False),
        ("time_to_restore", 8.82, 3.19, 2.76, False),
        ("detect_stale_surface", 124.6, 3.19, 39.06, False),
        ("controller_cpu_per_box", 8.74, None, None, False),
        ("controller_cpu_flat_n12", 5.45, 7.02, 0.78, True),
        ("activation_vs_runbook", 16.83, 3.2, 5.26, False),
        ("ci_wall_quiet", 1740, None, None, False),
    ],
)
def test_each_target_from_its_measurements(ci_file, name, value, reference, ratio, met):
    row = built(ci_file)[name]
    assert (row["value"], row["reference"], row["ratio"], row["met"]) == (value, reference, ratio, met)
    assert row["goal"] == {"of": targets.TARGETS[name][3][0], "max": targets.TARGETS[name][3][1]}


def test_every_named_target_is_built(ci_file):
    assert list(built(ci_file)) == ["engine_downtime", "bad_release_exposure", "time_to_restore",
                                    "detect_stale_surface", "controller_cpu_per_box", "controller_cpu_flat_n12",
                                    "activation_vs_runbook", "ci_wall_quiet"]


@pytest.mark.parametrize(
    ("changes", "name", "met"),
    [
        # at the goal is met, just above is not
        ({"rollback": {"failed_gate_to_restarted_s": 5.69}}, "bad_release_exposure", True),
        ({"rollback": {"failed_gate_to_restarted_s": 5.72}}, "bad_release_exposure", False),
        ({"single": {"cpu_s": {"controller": 3.0, "boxes": 4.0}}}, "controller_cpu_per_box", True),
        ({"single": {"cpu_s": {"controller": 3.01, "boxes": 4.0}}}, "controller_cpu_per_box", False),
        ({"detect": {"restart_to_failed_gate_s": 6.3}}, "detect_stale_surface", True),
        ({"single": {"activation_s": 8.0}}, "activation_vs_runbook", True),
    ],
)
def test_goal_boundaries(ci_file, changes, name, met):
    assert built(ci_file, **changes)[name]["met"] is met


@pytest.mark.parametrize(
    ("changes", "name", "error"),
    [
        # a fast failure at another gate is not the detection of the stale surface
        ({"detect": {"failed_gate": "verify.engine_version", "restart_to_failed_gate_s": 2.0}},
         "detect_stale_surface", "failed at verify.engine_version, not verify.surfaces_fresh"),
        ({"detect": {"failed_gate": None, "restart_to_failed_gate_s": None}}, "detect_stale_surface",
         "no gate failed: the stale surfaces were not detected"),
        ({"rollback": {"failed_gate_to_restarted_s": None}}, "bad_release_exposure",
         "no failed gate or no restart after it"),
        ({"rollback": {"failed_gate_to_verified_rollback_s": None}}, "time_to_restore", "no verified rollback"),
        ({"single": {"engine_downtime_s": None}}, "engine_downtime", "no stop and state publish in the box's logs"),
    ],
)
def test_unmeasured_or_wrong_gate_is_not_met_and_says_why(ci_file, changes, name, error):
    row = built(ci_file, **changes)[name]
    assert row["met"] is False
    assert row["error"] == error


@pytest.mark.parametrize(
    ("fleet", "error"),
    [
        ([MEASURED["fleet"][0]], "needs fleet runs at N=1 and N=12 (--fleet 1,12)"),
        ([MEASURED["fleet"][0], dict(MEASURED["fleet"][1], n=6)], "largest fleet measured is N=6, not 12"),
    ],
)
def test_flat_cpu_needs_n1_and_n12(ci_file, fleet, error):
    measured = dict(copy.deepcopy(MEASURED), fleet=fleet)
    row = targets.build(measured, targets.ci_wall(ci_file))["controller_cpu_flat_n12"]
    assert (row["met"], row["error"]) == (False, error)


def test_loads_are_noted_beside_each_figure(ci_file):
    rows = built(ci_file)
    assert rows["bad_release_exposure"]["machine"] == {"load": LOAD, "reference_load": [3.3, 2.5, 2.1]}
    assert rows["controller_cpu_flat_n12"]["machine"] == {"load": [6.1, 4.0, 3.0], "reference_load": LOAD}


def test_ci_wall_from_its_file_names_the_source(ci_file):
    row = targets.ci_wall(ci_file)
    assert (row["value"], row["source"], row["detail"]["note"]) == (1740, "bench/ci_wall.json", "issue #20")


def test_ci_wall_from_the_command_line_wins(ci_file):
    row = targets.ci_wall(ci_file, 840.0)
    assert (row["value"], row["met"], row["source"]) == (840.0, True, "--ci-wall")


@pytest.mark.parametrize(
    "text",
    ['{"measured": "quiet"}', '{"seconds": "about half an hour"}', "seconds: 1740", '{"seconds": null}'],
)
def test_unusable_ci_wall_file_says_why_in_one_line(tmp_path, text):
    path = tmp_path / "ci_wall.json"
    path.write_text(text)
    row = targets.ci_wall(path)
    assert (row["value"], row["met"]) == (None, False)
    assert row["error"].startswith("ci_wall.json unusable (") and row["error"].endswith("pass --ci-wall SECONDS")
    assert "\n" not in row["error"]


def test_table_prints_value_reference_ratio_goal_and_met(ci_file):
    lines = targets.table(built(ci_file)).splitlines()
    assert lines[2] == ("| engine_downtime | 1.45 s | 1.31 s (the same for a bare `supervisorctl restart hedge:`) |"
                        " 1.11x | ratio <= 1.2 | yes | 3.12 |")
    assert lines[-1] == "| ci_wall_quiet | 1740 s (from bench/ci_wall.json) | - | - | <= 900 s | no | - |"


def _bench_script():
    spec = importlib.util.spec_from_file_location("bench_script", benchpath.BENCH / "bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["TASK [x]", "BENCH gate_failed 1796312371.250 verify.engine_version", "BENCH gate_failed 1796312380.0 x.y",
          "BENCH rollback_verified 1796312380.070"], (1796312371.25, 1796312380.07, "verify.engine_version")),
        # a refused run: a failed gate, no rollback
        (["BENCH gate_failed 1796312371.250 preflight.pretag"], (1796312371.25, None, "preflight.pretag")),
        (["PLAY RECAP"], (None, None, None)),
    ],
)
def test_bench_lines_of_the_callback(tmp_path, lines, expected):
    log = tmp_path / "run.log"
    log.write_text("\n".join(lines) + "\n")
    assert _bench_script().gate_to_verified(log) == expected
