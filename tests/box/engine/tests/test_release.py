"""Fast release checks: VERSION, manifest, the pretag fault switch."""
import json
import os
import re
import time

import simfaults


def test_version_file_format(root):
    with open(os.path.join(root, "VERSION"), encoding="utf-8") as fh:
        text = fh.read()
    assert re.fullmatch(r"v\d+\.\d+(\.\d+)?\n?", text), "VERSION must be one line like v7.6, got %r" % text


def test_manifest_docs_version_matches(root, version):
    with open(os.path.join(root, "v7_manifest.json"), encoding="utf-8") as fh:
        manifest = json.load(fh)
    assert manifest["docs_version"] == version


def test_pretag_fault_switch_off(version):
    assert "pretag_fail" not in simfaults.active_faults(version), \
        "simulated preflight failure (fault pretag_fail active for %s)" % version


def test_pretag_slow_switch(version):
    """With the pretag_slow fault the suite takes PRETAG_SLOW_SECONDS longer (a slow `make pretag`)."""
    if "pretag_slow" in simfaults.active_faults(version):
        time.sleep(simfaults.PRETAG_SLOW_SECONDS)
