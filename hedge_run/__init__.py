"""hedge_run: run the project's playbooks (activate, rollback, incident_check)
through ansible-runner, with one progress line per host and stage, the run's
events as JSON lines and an exit code that says whether it worked.

    python -m hedge_run activate --version v7.6 [--limit H] [--inventory PATH]
                                 [-e k=v ...] [--events FILE] [--private-data-dir DIR]
    python -m hedge_run rollback [--version v7.5] ...
    python -m hedge_run incident_check ...

A controller-side tool of the playbook project, not collection content: it
lives at the repo top level, outside plugins/, and Ansible never loads it.
"""
from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
