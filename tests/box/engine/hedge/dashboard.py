"""Simulated GPT-Hedge dashboard (stands in for the Streamlit app).

Serves on ``127.0.0.1:$HEDGE_DASHBOARD_PORT`` (default 8501):

* ``GET /healthz`` -> 200 ``ok`` (503 ``unavailable`` under fault ``dashboard_down``);
* ``GET /``        -> a small text page naming the engine version found in
  ``logs/state/engine_metadata.json`` (either shape).

Faults are re-read on every request.
"""
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simfaults  # noqa: E402
from executor import read_version  # noqa: E402
from statefiles import STATE_DIR, read_json  # noqa: E402

VERSION = None


def engine_version_from_metadata(state_dir=STATE_DIR):
    """Return the version in engine_metadata.json (engine or runbook shape)."""
    meta = read_json(os.path.join(state_dir, "engine_metadata.json"))
    if isinstance(meta, dict):
        return meta.get("engine_version") or meta.get("version") or "unknown"
    return "unknown"


class Handler(BaseHTTPRequestHandler):
    server_version = "hedge-dashboard-sim/1.0"

    def _send(self, code, body):
        data = body.encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            if "dashboard_down" in simfaults.active_faults(VERSION):
                self._send(503, "unavailable")
            else:
                self._send(200, "ok")
        elif path == "/":
            self._send(200, "GPT-Hedge dashboard (simulated)\nEngine version: %s\n" % engine_version_from_metadata())
        else:
            self._send(404, "not found")

    do_HEAD = do_GET

    def log_message(self, fmt, *args):
        sys.stdout.write("dashboard: %s %s\n" % (self.address_string(), fmt % args))
        sys.stdout.flush()


def _terminate(signum, frame):
    raise SystemExit(0)


def main():
    global VERSION
    signal.signal(signal.SIGTERM, _terminate)
    VERSION = read_version()
    port = int(os.environ.get("HEDGE_DASHBOARD_PORT", "8501"))
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print("dashboard: serving %s on http://127.0.0.1:%d" % (VERSION, port), flush=True)
    try:
        server.serve_forever(poll_interval=0.5)
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
