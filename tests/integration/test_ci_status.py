"""preflight.ci_status against a local stub of the GitHub commit-status API."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from boxlib import gate_failure, run_playbook

TOKEN = "ghp_s3cr3tT0kenValue"


class StatusStub(BaseHTTPRequestHandler):
    state = "success"
    sha = ""
    requests: list = []

    def do_GET(self):  # noqa: N802 - http.server API
        type(self).requests.append((self.path, self.headers.get("Authorization")))
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self.send_response(401)
            self.end_headers()
            return
        if not self.path.startswith("/repos/acme/hedge-fund/commits/") or not self.path.endswith("/status"):
            self.send_response(404)
            self.end_headers()
            return
        body = json.dumps({"state": type(self).state, "sha": type(self).sha, "statuses": []}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def stub_api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), StatusStub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def counting_make(tmp_path):
    """A PATH (for box_path) whose `make` notes each call, then runs the real make."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    calls = tmp_path / "make-calls"
    make = bindir / "make"
    make.write_text(f'#!/bin/sh\necho "$*" >> {calls}\nexec /usr/bin/make "$@"\n')
    make.chmod(0o755)
    return f"{bindir}:/usr/local/bin:/usr/bin:/bin", calls


@pytest.mark.parametrize(
    ("state", "token", "expect_rc", "expect"),
    [
        ("success", TOKEN, 0, "GATE preflight.ci_status passed"),
        ("failure", TOKEN, 2, "GATE preflight.ci_status FAILED: combined status of"),
        ("pending", TOKEN, 2, "is pending, expected success"),
        ("success", "wrong-token", 2, "API error (HTTP 401)"),
    ],
    ids=["green", "red", "pending", "bad-token"],
)
def test_ci_status_gate(shared_box, stub_api, tmp_path, state, token, expect_rc, expect):
    commit = shared_box.git("rev-parse", "v7.6^{commit}")
    StatusStub.state, StatusStub.sha = state, commit
    StatusStub.requests.clear()
    path, make_calls = counting_make(tmp_path)
    before = shared_box.snapshot()
    run = run_playbook(
        shared_box, "playbooks/preflight.yml", tmp_path, version="v7.6", box_path=f"{shared_box.checkout}/venv/bin:{path}",
        preflight_ci_repo="acme/hedge-fund", preflight_ci_token=token, preflight_ci_api_url=stub_api,
    )
    assert (run.rc == 0) == (expect_rc == 0), run.stdout[-3000:]
    assert expect in run.stdout
    # Asked by the tag's name, before the clone: the answer names the commit judged.
    assert StatusStub.requests and StatusStub.requests[0][0] == "/repos/acme/hedge-fund/commits/v7.6/status"
    # make pretag runs only for a green tag: a refusal does not spend it first.
    assert make_calls.exists() == (expect_rc == 0), make_calls.read_text() if make_calls.exists() else "make never ran"
    assert TOKEN not in run.stdout, "the token leaked into the output"
    assert shared_box.snapshot() == before


def test_ci_status_of_another_commit_fails(shared_box, stub_api, tmp_path):
    """A green status for a commit other than the tag's (the tag moved on GitHub) refuses."""
    StatusStub.state, StatusStub.sha = "success", "0" * 40
    before = shared_box.snapshot()
    run = run_playbook(
        shared_box, "playbooks/preflight.yml", tmp_path, version="v7.6",
        preflight_ci_repo="acme/hedge-fund", preflight_ci_token=TOKEN, preflight_ci_api_url=stub_api,
    )
    assert run.rc != 0
    commit = shared_box.git("rev-parse", "v7.6^{commit}")
    assert gate_failure(run.stdout, "preflight.ci_status").startswith(
        f"GATE preflight.ci_status FAILED: acme/hedge-fund judged v7.6 at 000000000000, but the tag is at {commit[:12]}")
    assert shared_box.snapshot() == before


def test_ci_status_not_configured_is_said(shared_box, tmp_path):
    run = run_playbook(shared_box, "playbooks/preflight.yml", tmp_path, version="v7.6")
    assert run.rc == 0, run.stdout[-3000:]
    assert "GATE preflight.ci_status NOT CHECKED" in run.stdout


def test_ci_status_required_but_not_configured_fails(shared_box, tmp_path):
    run = run_playbook(shared_box, "playbooks/preflight.yml", tmp_path, version="v7.6", preflight_ci_required=True)
    assert run.rc != 0
    assert "GATE preflight.ci_status FAILED: CI status is not configured" in run.stdout
