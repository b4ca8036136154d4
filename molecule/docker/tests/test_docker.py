"""Runbook option B on a real Docker engine and registry: converge activated
v7.6 (docker method); bad registry input is refused before any container is
touched; rollback.yml returns to v7.5's image, verified. Tests run in order."""
import json
import os
import re
from pathlib import Path

import boxcheck

PROJECT = "/srv/gpt-hedge-molecule/docker/hedge-fund"
CONTAINER = "hedge-engine-molecule"
REGISTRY_IMAGE = "gpt-hedge"


def engine(host) -> dict:
    """The engine container as the box's Docker engine reports it."""
    out = host.check_output(
        "python3 -c 'import docker, json; c = docker.from_env().containers.get(\"%s\"); "
        "print(json.dumps({\"id\": c.id, \"image\": c.attrs[\"Config\"][\"Image\"], "
        "\"status\": c.status, \"started\": c.attrs[\"State\"][\"StartedAt\"]}))'" % CONTAINER)
    return json.loads(out)


def image_id(host) -> str:
    """The id of the image the engine container runs (sha256:...)."""
    return host.check_output(
        "python3 -c 'import docker; print(docker.from_env().containers.get(\"%s\").attrs[\"Image\"])'" % CONTAINER)


def ops_log(run_id: str) -> dict:
    """The ops log JSON of one run (written on the controller, under the scenario's ephemeral dir)."""
    path = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "opslog" / f"hedge-box-docker-{run_id}.json"
    return json.loads(path.read_text())


def env_version(host) -> str:
    lines = host.file(PROJECT + "/.env").content_string.splitlines()
    return [line.split("=", 1)[1] for line in lines if line.startswith("HEDGE_VERSION=")][0]


def engine_version(host) -> str:
    """engine_metadata in either shape (v7.5 writes `version`)."""
    meta = json.loads(host.file(PROJECT + "/logs/state/engine_metadata.json").content_string)
    return meta.get("engine_version") or meta.get("version")


def records(host) -> list[dict]:
    names = host.check_output("ls /var/lib/gpt-hedge/activation/history").split()
    return sorted((json.loads(host.file("/var/lib/gpt-hedge/activation/history/" + n).content_string)
                   for n in names if n.endswith(".json")), key=lambda r: r.get("started_at", ""))


def test_v76_runs_from_the_registry_image(host):
    ctr = engine(host)
    assert ctr["status"] == "running"
    assert ctr["image"].endswith("/%s:v7.6" % REGISTRY_IMAGE) and ctr["image"].startswith("127.0.0.1:")
    assert env_version(host) == "v7.6"
    assert engine_version(host) == "v7.6"
    assert boxcheck.healthz(host) == "200"
    # The git checkout is not the deploy path: it stays where it was.
    assert boxcheck.checked_out_tag(host) == "v7.5"
    # Nothing but the engine wrote its state.
    result = host.run(f"cd {PROJECT} && python3 /root/hedge-fund/hedge/statefiles.py logs/state")
    assert result.rc == 0, result.stdout


def test_activation_recorded_with_docker_method(host):
    # converge's run (the idempotence run after it found v7.6 already live)
    activation, rerun = [r for r in records(host) if r.get("kind") == "activation"]
    assert rerun["previous_version"] == "v7.6" and rerun["outcome"] == "success"
    assert activation["method"] == "docker"
    assert activation["outcome"] == "success"
    assert activation["previous_version"] == "v7.5"
    assert activation["commit"].startswith("sha256:")


def test_ops_log_names_the_image_and_version(host):
    """The ops log of a docker activation reads the facts both deploy methods set: its commit is the id of
    the image the engine runs (as in the history record), its versions the release's."""
    activation = [r for r in records(host) if r.get("kind") == "activation"][0]
    entry = ops_log(activation["id"])
    assert (entry["kind"], entry["outcome"], entry["version"], entry["previous_version"]) == \
        ("activation", "success", "v7.6", "v7.5")
    assert entry["live_version"] == "v7.6"
    assert entry["commit"] == activation["commit"] == image_id(host)
    assert entry["steps"]["preflight_passed"] <= entry["steps"]["code_pulled"] <= entry["steps"]["services_restarted"]


def test_check_mode_names_the_image_and_touches_nothing(host):
    """--check with the docker method (v7.6 live): the preflight asks the registry for real (login, pull, label;
    it refused at preflight.registry before), the deploy says what the .env names, the restart what compose
    would do, and the running container, .env and history stay as they were."""
    before = engine(host), env_version(host), records(host)
    result = boxcheck.run_playbook("activate.yml", "-e", "version=v7.6", "--check")
    assert result.returncode == 0, result.stdout[-3000:]
    out = " ".join(result.stdout.split())
    for gate in ("preflight.docker", "preflight.registry", "preflight.image", "preflight.image_version"):
        assert f"GATE {gate} passed" in out, result.stdout[-3000:]
    assert "CHANGES deploy.compose_image:" in out and "already names HEDGE_VERSION=v7.6" in out, result.stdout[-3000:]
    assert re.search(r"CHECK MODE: would run docker-compose -f \S+ up -d", out), result.stdout[-3000:]
    assert (engine(host), env_version(host), records(host)) == before, "a check run changed the box"


def _refused(host, gate: str, *extra: str) -> str:
    before = engine(host), env_version(host)
    result = boxcheck.run_playbook("activate.yml", "-e", "version=v7.6", *extra)
    assert result.returncode != 0, result.stdout[-3000:]
    line = boxcheck.gate_failure(result.stdout, gate)
    assert line, result.stdout[-3000:]
    assert (engine(host), env_version(host)) == before, "the running engine was touched"
    assert records(host)[-1]["outcome"] == "refused"
    assert records(host)[-1]["failed_gate"] == gate
    return line, result.stdout


def test_wrong_credentials_are_refused_before_any_container_is_touched(host):
    line, out = _refused(host, "preflight.registry", "-e", "box_docker_registry_password=not-the-password")
    assert "login to 127.0.0.1:" in line
    assert "not-the-password" not in out


def test_registry_that_does_not_answer_is_refused(host):
    line, _ = _refused(host, "preflight.registry", "-e", "box_docker_registry=127.0.0.1:1")
    assert "127.0.0.1:1" in line


def test_image_tag_absent_from_registry_is_refused(host):
    before = engine(host), env_version(host)
    result = boxcheck.run_playbook("activate.yml", "-e", "version=v7.7")
    assert result.returncode != 0
    line = boxcheck.gate_failure(result.stdout, "preflight.image")
    assert "gpt-hedge:v7.7" in line, result.stdout[-3000:]
    assert (engine(host), env_version(host)) == before


def test_docker_engine_that_does_not_answer_is_refused(host):
    line, _ = _refused(host, "preflight.docker", "-e", "box_docker_host=unix:///run/no-such-docker.sock")
    assert "no-such-docker.sock" in line


def test_image_labelled_with_another_release_is_refused(host):
    before = engine(host), env_version(host)
    result = boxcheck.run_playbook("activate.yml", "-e", "version=v7.9-mislabelled")
    assert result.returncode != 0
    line = boxcheck.gate_failure(result.stdout, "preflight.image_version")
    assert "org.opencontainers.image.version=v7.6" in line, result.stdout[-3000:]
    assert (engine(host), env_version(host)) == before


def test_rollback_redeploys_the_previous_image(host):
    result = boxcheck.run_playbook("rollback.yml")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "GATE restart.container_running passed" in result.stdout
    assert "GATE verify.engine_version passed" in result.stdout
    ctr = engine(host)
    assert ctr["status"] == "running" and ctr["image"].endswith("/gpt-hedge:v7.5")
    assert env_version(host) == "v7.5"
    assert engine_version(host) == "v7.5"
    rollback = records(host)[-1]
    assert rollback["kind"] == "rollback" and rollback["outcome"] == "success"
    assert rollback["method"] == "docker" and rollback["version"] == "v7.5"
    entry = ops_log(rollback["id"])
    assert (entry["kind"], entry["outcome"], entry["version"], entry["live_version"]) == ("rollback", "success", "v7.5", "v7.5")
    assert entry["commit"] == rollback["commit"] == image_id(host)


def test_failed_gate_rolls_back_to_the_previous_image(host):
    """v7.5 live again; v7.6 reports the wrong engine version: the run fails
    naming the gate, re-deploys v7.5's image by itself and verifies it."""
    assert engine(host)["image"].endswith("/gpt-hedge:v7.5")
    host.check_output(f"echo wrong_engine_version > {PROJECT}/faults/v7.6")
    try:
        result = boxcheck.run_playbook("activate.yml", "-e", "version=v7.6",
                                       *[arg for k, v in boxcheck.FAST_GATES.items() for arg in ("-e", f"{k}={v}")])
    finally:
        host.check_output(f"rm -f {PROJECT}/faults/v7.6")
    assert result.returncode != 0
    assert boxcheck.gate_failure(result.stdout, "verify.engine_version"), result.stdout[-3000:]
    assert "automatic rollback to v7.5: verified" in " ".join(result.stdout.split()), result.stdout[-3000:]
    ctr = engine(host)
    assert ctr["status"] == "running" and ctr["image"].endswith("/gpt-hedge:v7.5")
    assert env_version(host) == "v7.5"
    assert engine_version(host) == "v7.5"
    activation, rollback = records(host)[-2:]
    assert activation["outcome"] == "rolled_back" and activation["failed_gate"] == "verify.engine_version"
    assert rollback["kind"] == "auto_rollback" and rollback["outcome"] == "success"
