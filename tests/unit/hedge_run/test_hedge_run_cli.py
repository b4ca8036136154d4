"""hedge_run.cli: argument parsing, bad arguments -> exit 2 before anything
starts, the ansible-runner arguments (default and AWX-style private data dir)
and main()'s exit code over a stand-in for ansible_runner.run fed with real events."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import ansible_runner
import pytest

from hedge_run import REPO, cli


@pytest.fixture
def no_runner(monkeypatch):
    """ansible_runner.run replaced by a recorder: a bad-argument case must never reach it."""
    calls = []
    monkeypatch.setattr(ansible_runner, "run", lambda **kwargs: calls.append(kwargs))
    return calls


def test_parse_activate(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("all: {}\n")
    options = cli.parse_args([
        "activate", "--version", "v7.6", "--limit", "box1,box2", "--inventory", "hosts.yml",
        "-e", "operator=alice", "-e", "notes='ticket OPS-42' auto_rollback=false", "-e", '{"verify_exit_coverage_min": 80}',
        "--events", "out/ev.jsonl", "--private-data-dir", "pdd",
    ])
    assert options.command == "activate" and options.playbook == "activate.yml"
    assert options.version == "v7.6" and options.limit == "box1,box2"
    assert options.inventory == inventory
    assert options.extravars == {"operator": "alice", "notes": "ticket OPS-42", "auto_rollback": "false",
                                 "verify_exit_coverage_min": 80}
    assert options.events == tmp_path / "out" / "ev.jsonl"
    assert options.private_data_dir == tmp_path / "pdd"


def test_parse_rollback_and_incident_check():
    assert cli.parse_args(["rollback"]).version is None
    assert cli.parse_args(["rollback"]).playbook == "rollback.yml"
    assert cli.parse_args(["rollback", "--version", "v7.5"]).version == "v7.5"
    # -e version= is the same as --version (and validated the same way).
    options = cli.parse_args(["rollback", "-e", "version=v7.5.1-rc.1"])
    assert (options.version, options.extravars) == ("v7.5.1-rc.1", {})
    options = cli.parse_args(["incident_check", "--limit", "localbox"])
    assert (options.playbook, options.version, options.limit) == ("playbooks/incident_check.yml", None, "localbox")


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["activate", "--version", "7.6"], "invalid version '7.6'"),
        (["activate", "--version", "v7.6; rm -rf /"], "invalid version"),
        (["activate", "--version", ""], "invalid version ''"),
        (["activate", "--version", "v7"], "invalid version 'v7'"),
        (["activate", "--version", "v7.6-"], "invalid version"),
        (["rollback", "--version", "latest"], "invalid version 'latest'"),
        # ASCII digits only, the whole string (GATE input.version's pattern, roles/box/defaults).
        (["activate", "--version", "v7.\uff16"], "invalid version 'v7.\uff16'"),
        (["activate", "--version", "v7.6\n"], "invalid version 'v7.6\\n'"),
        (["activate", "--version", "v7.6\nv7.7"], "invalid version"),
        (["rollback", "-e", "version=v7.5 x"], "expected k=v"),
        (["activate"], "the following arguments are required: --version"),
        (["activate", "--version", "v7.6", "-e", "version=v7.5"], "disagree"),
        (["activate", "--version", "v7.6", "-e", "novalue"], "expected k=v"),
        (["activate", "--version", "v7.6", "-e", "{not json"], "not a JSON object"),
        (["activate", "--version", "v7.6", "-e", "[1]"], "expected k=v"),
        (["activate", "--version", "v7.6", "--inventory", "/nonexistent/hosts.yml"], "does not exist"),
        (["activate", "--version", "v7.6", "--limit", " "], "--limit is empty"),
        (["incident_check", "--version", "v7.6"], "unrecognized arguments: --version v7.6"),
        (["deploy", "--version", "v7.6"], "invalid choice: 'deploy'"),
        ([], "a command is required"),
    ],
)
def test_bad_arguments_exit_2_without_a_run(tmp_path, capsys, no_runner, argv, reason):
    private = tmp_path / "pdd"
    code = cli.main([*argv, "--private-data-dir", str(private)] if argv else argv)
    out, err = capsys.readouterr()
    assert code == 2
    assert err.startswith("hedge_run: error: ") and err.count("\n") == 1, err
    assert reason in err
    assert out == ""
    assert no_runner == [] and not private.exists()


def test_bad_version_from_the_command_line_starts_nothing(tmp_path):
    """The real entry point: exit 2, one line, and no private data dir / artifacts created."""
    private = tmp_path / "pdd"
    proc = subprocess.run([sys.executable, "-m", "hedge_run", "activate", "--version", "v7.6;id",
                           "--private-data-dir", str(private)],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "hedge_run: error: invalid version 'v7.6;id': expected a tag like v7.6 "
        "(^v[0-9]+\\.[0-9]+(\\.[0-9]+)?(-[A-Za-z0-9.]+)?\\Z)"]
    assert proc.stdout == "" and not private.exists()


def test_runner_kwargs_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HEDGE_REPORT_DIR", raising=False)
    monkeypatch.delenv("ANSIBLE_STDOUT_CALLBACK", raising=False)
    monkeypatch.setenv("HEDGE_OPSLOG_DIR", "ops")
    # A PATH without the venv (as from cron): ansible-playbook must still be the venv's.
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    options = cli.parse_args(["activate", "--version", "v7.6", "-e", "operator=alice", "--limit", "localbox"])
    kwargs = cli.runner_kwargs(options, "activate-1")
    assert kwargs["private_data_dir"] == str(tmp_path / "reports" / "hedge_run")
    assert kwargs["project_dir"] == str(REPO)
    assert kwargs["inventory"] == str(REPO / "inventories" / "local" / "hosts.yml")
    assert kwargs["playbook"] == "activate.yml" and kwargs["ident"] == "activate-1"
    # The extra vars never go to ansible-runner as a dict (it would write env/extravars and put them on the
    # recorded command line), and nothing is written under env/.
    assert "extravars" not in kwargs and kwargs["suppress_env_files"] is True
    assert cli.run_extravars(options) == {"operator": "alice", "version": "v7.6"}
    assert kwargs["limit"] == "localbox"
    assert kwargs["envvars"]["HEDGE_OPSLOG_DIR"] == str(tmp_path / "ops")  # the caller's cwd, not the project's
    assert kwargs["envvars"]["ANSIBLE_NOCOLOR"] == "1"
    # ansible-runner ignores ansible.cfg's stdout_callback: a failed gate is printed once only with it set.
    assert kwargs["envvars"]["ANSIBLE_STDOUT_CALLBACK"] == "gpt_hedge.activation.gate_display"
    assert kwargs["envvars"]["PATH"] == str(Path(sys.executable).parent) + ":/usr/bin:/bin"


def test_runner_kwargs_keeps_a_path_that_starts_with_the_venv(monkeypatch):
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent) + ":/usr/bin")
    kwargs = cli.runner_kwargs(cli.parse_args(["activate", "--version", "v7.6"]), "activate-2")
    assert "PATH" not in kwargs["envvars"]


def test_runner_kwargs_awx_private_data_dir(tmp_path):
    """An AWX-style dir: its project/, inventory and env/ are used as they are."""
    private = tmp_path / "pdd"
    (private / "project").mkdir(parents=True)
    (private / "project" / "rollback.yml").write_text("---\n")
    (private / "inventory").mkdir()
    options = cli.parse_args(["rollback", "--private-data-dir", str(private)])
    kwargs = cli.runner_kwargs(options, "rollback-1")
    assert kwargs["private_data_dir"] == str(private)
    assert "project_dir" not in kwargs and "inventory" not in kwargs and "extravars" not in kwargs
    assert cli.run_extravars(options) == {}
    # AWX's own env/ files are AWX's: used, not refused.
    (private / "env").mkdir()
    (private / "env" / "extravars").write_text("version: v7.5\n")
    assert cli.runner_kwargs(options, "rollback-1b")["private_data_dir"] == str(private)
    # An explicit inventory still wins; a project without the playbook is a usage error.
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("all: {}\n")
    options = cli.parse_args(["rollback", "--private-data-dir", str(private), "-i", str(inventory)])
    assert cli.runner_kwargs(options, "rollback-2")["inventory"] == str(inventory)
    with pytest.raises(cli.UsageError, match="playbook activate.yml not found"):
        cli.runner_kwargs(cli.parse_args(["activate", "--version", "v7.6", "--private-data-dir", str(private)]), "x")


@pytest.mark.parametrize("leftover", ["extravars", "envvars", "cmdline"])
def test_env_files_left_by_an_older_hedge_run_are_refused(tmp_path, capsys, no_runner, leftover):
    """A dir of hedge_run's own (no project/) whose env/ holds what an older hedge_run wrote there: ansible-runner
    would load it into this run too (an earlier run's token, version, registry password): refused, exit 2."""
    private = tmp_path / "pdd"
    (private / "env").mkdir(parents=True)
    (private / "env" / leftover).write_text('{"version": "v7.6", "preflight_ci_token": "old"}')
    assert cli.main(["rollback", "--private-data-dir", str(private)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"holds env/{leftover}, left by an earlier hedge_run" in err
    assert no_runner == [] and not (private / "artifacts").exists()


def test_extravars_file_is_private_and_removed(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    with cli.extravars_file({"preflight_ci_token": "PLANTED", "version": "v7.6"}) as path:
        assert path.parent == tmp_path and path.stat().st_mode & 0o777 == 0o600
        assert json.loads(path.read_text()) == {"preflight_ci_token": "PLANTED", "version": "v7.6"}
    assert not path.exists()
    with pytest.raises(RuntimeError), cli.extravars_file({"a": "1"}) as path:
        raise RuntimeError("the run failed")
    assert not path.exists()
    with cli.extravars_file({}) as path:
        assert path is None


def fake_run(events, status, rc):
    """A stand-in for ansible_runner.run: hands recorded events to the handlers, like the real one."""
    calls = []

    def run(**kwargs):
        extravars = kwargs.get("extravars")
        kwargs["extravars_seen"] = json.loads(Path(extravars).read_text()) if extravars else None
        calls.append(kwargs)
        kwargs["status_handler"]({"status": "starting", "runner_ident": kwargs["ident"]}, runner_config=None)
        for event in events:
            assert kwargs["event_handler"](event) is True
        kwargs["status_handler"]({"status": status, "runner_ident": kwargs["ident"]}, runner_config=None)
        return SimpleNamespace(status=status, rc=rc)

    return run, calls


@pytest.mark.parametrize(("fixture", "status", "rc", "code"),
                         [("ok_events", "successful", 0, 0), ("refused_events", "failed", 2, 3)])
def test_main_exit_code_lines_and_events(tmp_path, capsys, monkeypatch, request, fixture, status, rc, code):
    events = request.getfixturevalue(fixture)
    run, calls = fake_run(events, status, rc)
    monkeypatch.setattr(ansible_runner, "run", run)
    private = tmp_path / "pdd"
    version = "v7.6" if code == 0 else "v9.9"
    assert cli.main(["activate", "--version", version, "--private-data-dir", str(private)]) == code
    out = capsys.readouterr().out.splitlines()
    (kwargs,) = calls
    assert kwargs["extravars_seen"] == {"version": version} and kwargs["project_dir"] == str(REPO)
    # -e @FILE, FILE outside the private data dir, gone once the playbook started (and after the run).
    assert not kwargs["extravars"].startswith(str(private)) and not Path(kwargs["extravars"]).exists()
    assert not (private / "env").exists()
    assert callable(kwargs["cancel_callback"]) and kwargs["cancel_callback"]() is False
    ident = kwargs["ident"]
    assert ident.startswith("activate-")
    events_file = private / "artifacts" / ident / "hedge_events.jsonl"
    assert [json.loads(line) for line in events_file.read_text().splitlines()] == events
    assert out[0].startswith(f"[   0.0s] hedge_run activate.yml {version}: private data dir {private}, ident {ident}")
    assert any(" preflight " in line and "GATE preflight.tag_exists" in line for line in out)
    if code == 0:
        assert out[-2].startswith("hedge_run activate.yml v7.6: success (exit 0) in ") and str(events_file) in out[-2]
        assert out[-1].split()[:2] == ["localbox", "success"]
    else:
        assert out[-2].startswith("hedge_run activate.yml v9.9: refused (exit 3) in ")
        assert out[-1].endswith("failed gate: preflight.tag_exists")


def test_main_events_option_and_failed_status_without_rc(tmp_path, capsys, monkeypatch, refused_events):
    run, _ = fake_run(refused_events[:3], "failed", 0)  # ansible died before its stats
    monkeypatch.setattr(ansible_runner, "run", run)
    events_file = tmp_path / "sub" / "ev.jsonl"
    assert cli.main(["incident_check", "--private-data-dir", str(tmp_path / "pdd"), "--events", str(events_file)]) == 1
    assert len(events_file.read_text().splitlines()) == 3
    out = capsys.readouterr().out
    assert ": stopped (exit 1)" in out and out.splitlines()[-1].split()[:2] == ["localbox", "stopped"]
