#!/usr/bin/env python3
"""Build the bare git origin of the simulated GPT-Hedge engine.

    python tests/box/make_origin.py --dest DIR [--bad-version-tag v7.7] [--bad-docs-tag v7.8]
                                    [--no-sanity-tag v7.6.1]

History (branch ``main`` ends at ``v7.6``):

* commit "v7.5", tag ``v7.5``: VERSION v7.5, manifest docs_version v7.5,
  older risk config, NO sanity script;
* commit "v7.6", tag ``v7.6``: VERSION v7.6, manifest v7.6, adds
  ``scripts/runtime_sanity_check_v7_6.py``;
* ``--bad-version-tag TAG``: one more commit tagged TAG whose VERSION still
  says v7.6 (to exercise a VERSION-mismatch gate); only the tag reaches it.
* ``--bad-docs-tag TAG``: a commit on v7.6 tagged TAG whose VERSION says TAG
  but whose manifest ``docs_version`` still says v7.6 (docs not bumped).
* ``--no-sanity-tag TAG``: a commit on v7.6 tagged TAG, VERSION and
  docs_version TAG, that ships no ``runtime_sanity_check_<TAG>.py`` (only
  v7.6's script); ``make pretag-TAG`` passes.

Commit dates are fixed, so the commit hashes are reproducible. Importable:
``build_origin(dest, bad_version_tag=None, bad_docs_tag=None, no_sanity_tag=None)``.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

ENGINE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "engine")
SANITY_SCRIPT = os.path.join("scripts", "runtime_sanity_check_v7_6.py")
IGNORED = shutil.ignore_patterns("venv", "logs", "__pycache__", ".pytest_cache", "*.pyc")
GIT_ID = ["-c", "user.name=GPT-Hedge Simulator", "-c", "user.email=sim@hedge.invalid",
          "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"]
DATES = {"v7.5": "2024-05-01T12:00:00+00:00", "v7.6": "2024-06-01T12:00:00+00:00"}
LATE_DATE = "2024-07-01T12:00:00+00:00"
# v7.5's risk config uses the older flat NAV-jump key
RISK_LIMITS_V75 = {"max_portfolio_dd_pct": 15.0, "max_nav_jump_pct": 10.0}


def _git(cwd, *args, date=None):
    env = dict(os.environ)
    if date:
        env.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
    subprocess.run(["git", *GIT_ID, *args], cwd=cwd, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _write(path, text):
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)


def _set_version(work, version):
    """Stamp VERSION and v7_manifest.json docs_version with ``version``."""
    _write(os.path.join(work, "VERSION"), version + "\n")
    manifest_path = os.path.join(work, "v7_manifest.json")
    with open(manifest_path, encoding="utf-8") as fh:
        manifest = json.load(fh)
    manifest["docs_version"] = version
    _write(manifest_path, json.dumps(manifest, indent=2) + "\n")


def _commit_and_tag(work, message, tag, date):
    _git(work, "add", "-A")
    _git(work, "commit", "-q", "-m", message, date=date)
    _git(work, "tag", "-a", tag, "-m", "GPT-Hedge " + tag, date=date)


def build_origin(dest, bad_version_tag=None, bad_docs_tag=None, no_sanity_tag=None):
    """Create the bare origin repository at ``dest``; return its absolute path."""
    dest = os.path.abspath(dest)
    if os.path.exists(dest) and os.listdir(dest):
        raise FileExistsError("origin destination %s exists and is not empty" % dest)
    with tempfile.TemporaryDirectory(prefix="hedge-origin-") as tmp:
        work = os.path.join(tmp, "work")
        shutil.copytree(ENGINE_DIR, work, ignore=IGNORED)
        _git(work, "init", "-q")

        # v7.5: older manifest/config, no sanity script
        script = os.path.join(work, SANITY_SCRIPT)
        with open(script, encoding="utf-8") as fh:
            script_text = fh.read()
        os.remove(script)
        risk_path = os.path.join(work, "config", "risk_limits.json")
        with open(risk_path, encoding="utf-8") as fh:
            risk_v76 = fh.read()
        _write(risk_path, json.dumps(RISK_LIMITS_V75, indent=2) + "\n")
        _set_version(work, "v7.5")
        _commit_and_tag(work, "v7.5", "v7.5", DATES["v7.5"])

        # v7.6: the tree as it is in engine/
        _write(script, script_text)
        _write(risk_path, risk_v76)
        _set_version(work, "v7.6")
        _commit_and_tag(work, "v7.6", "v7.6", DATES["v7.6"])

        if bad_version_tag:  # on a detached HEAD: main stays at v7.6
            _git(work, "checkout", "-q", "--detach")
            _write(os.path.join(work, "RELEASE_NOTES.md"),
                   "# %s\n\nTagged without bumping VERSION (still v7.6).\n" % bad_version_tag)
            _commit_and_tag(work, "%s (VERSION not bumped)" % bad_version_tag, bad_version_tag, LATE_DATE)

        if bad_docs_tag:  # VERSION bumped, manifest docs_version left at v7.6
            _git(work, "checkout", "-q", "--detach", "v7.6")
            _write(os.path.join(work, "VERSION"), bad_docs_tag + "\n")
            _commit_and_tag(work, "%s (docs_version not bumped)" % bad_docs_tag, bad_docs_tag, LATE_DATE)

        if no_sanity_tag:  # VERSION and docs bumped, no runtime_sanity_check_<tag>.py
            _git(work, "checkout", "-q", "--detach", "v7.6")
            _set_version(work, no_sanity_tag)
            _commit_and_tag(work, "%s (no sanity script)" % no_sanity_tag, no_sanity_tag, LATE_DATE)

        os.makedirs(os.path.dirname(dest) or ".", exist_ok=True)
        _git(tmp, "clone", "-q", "--bare", work, dest)
    return dest


def main(argv=None):
    parser = argparse.ArgumentParser(description="Build the simulated engine's bare git origin.")
    parser.add_argument("--dest", required=True, help="directory of the bare repository to create")
    parser.add_argument("--bad-version-tag", metavar="TAG", help="add a commit tagged TAG whose VERSION stays v7.6")
    parser.add_argument("--bad-docs-tag", metavar="TAG", help="add a commit tagged TAG whose docs_version stays v7.6")
    parser.add_argument("--no-sanity-tag", metavar="TAG", help="add a commit tagged TAG without its sanity script")
    args = parser.parse_args(argv)
    try:
        path = build_origin(args.dest, args.bad_version_tag, args.bad_docs_tag, args.no_sanity_tag)
    except (FileExistsError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        print("make_origin: %s %s" % (exc, detail.decode(errors="replace")), file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
