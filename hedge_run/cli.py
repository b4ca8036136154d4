"""Command line of hedge_run: arguments -> ansible_runner.run() -> exit code.

The extra vars of a run (secrets included: -e preflight_ci_token=...) reach
ansible-playbook as `-e @FILE`, FILE a 0600 file outside the private data dir,
removed once ansible has read it and in any case at the end: never in
env/extravars (which every later run in the dir would load), never in the
command line that ansible-runner records in artifacts/<ident>/command."""
from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shlex
import signal
import sys
import tempfile
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from hedge_run import REPO
from hedge_run.exit_codes import USAGE
from hedge_run.progress import Progress

PLAYBOOKS = {
    "activate": "activate.yml",
    "rollback": "rollback.yml",
    "incident_check": "playbooks/incident_check.yml",
}

def _version_pattern() -> str:
    """GATE input.version's pattern, from the box role's defaults: one source for both checks."""
    import yaml  # PyYAML comes with ansible-core
    defaults = yaml.safe_load((REPO / "roles" / "box" / "defaults" / "main.yml").read_text())
    return defaults["box_version_pattern"]


VERSION_PATTERN = _version_pattern()
VERSION_RE = re.compile(VERSION_PATTERN)
DEFAULT_INVENTORY = REPO / "inventories" / "local" / "hosts.yml"
EXTRAVAR_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
USAGE_EXIT = USAGE
# Files under env/ that ansible-runner loads into every run of a private data dir. In a dir of hedge_run's
# own (no project/), they were written by an older hedge_run from one run's inputs.
RUNNER_ENV_FILES = ("extravars", "envvars", "cmdline", "passwords", "ssh_key")
TICK_SECONDS = 1.0


class UsageError(Exception):
    """Bad arguments: exit 2 with one line, before anything starts."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line instead of usage + error
        raise UsageError(message)


@dataclass
class Options:
    command: str
    playbook: str
    version: str | None = None
    limit: str | None = None
    inventory: Path | None = None
    extravars: dict = field(default_factory=dict)
    events: Path | None = None
    private_data_dir: Path | None = None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m hedge_run",
                     description="Run activate / rollback / incident_check through ansible-runner.")
    commands = parser.add_subparsers(dest="command", metavar="{activate,rollback,incident_check}")
    helps = {
        "activate": "activate a release (activate.yml)",
        "rollback": "roll back to the previous or a named release (rollback.yml)",
        "incident_check": "check the incident hooks on the live boxes (playbooks/incident_check.yml)",
    }
    for name, help_text in helps.items():
        sub = commands.add_parser(name, help=help_text, description=help_text)
        if name == "activate":
            sub.add_argument("--version", required=True, help="release tag to activate, e.g. v7.6")
        elif name == "rollback":
            sub.add_argument("--version", help="release tag to return to (default: the history's previous release)")
        sub.add_argument("--limit", help="limit the run to these hosts (ansible --limit)")
        sub.add_argument("--inventory", "-i", help="inventory file or dir (default: the private data dir's "
                         "inventory, else inventories/local/hosts.yml)")
        sub.add_argument("-e", "--extra-vars", dest="extra_vars", action="append", default=[],
                         metavar="K=V", help="extra variable(s): k=v [k2=v2 ...] or a JSON object; repeatable")
        sub.add_argument("--events", help="JSON-lines event log (default: "
                         "<private data dir>/artifacts/<ident>/hedge_events.jsonl)")
        sub.add_argument("--private-data-dir", help="ansible-runner private data dir (AWX layout: project/, "
                         "inventory/, env/extravars); default: $HEDGE_REPORT_DIR or ./reports, + /hedge_run")
    return parser


def parse_extravars(values: list[str]) -> dict:
    result: dict = {}
    for value in values:
        text = value.strip()
        if text.startswith("{"):
            try:
                loaded = json.loads(text)
            except ValueError as exc:
                raise UsageError(f"-e {value!r}: not a JSON object ({exc.msg})") from None
            if not isinstance(loaded, dict):
                raise UsageError(f"-e {value!r}: not a JSON object")
            result.update(loaded)
            continue
        try:
            words = shlex.split(text)
        except ValueError as exc:
            raise UsageError(f"-e {value!r}: {exc}") from None
        if not words:
            raise UsageError("-e needs k=v")
        for word in words:
            key, sep, val = word.partition("=")
            if not sep or not EXTRAVAR_KEY_RE.match(key):
                raise UsageError(f"-e {word!r}: expected k=v with k a variable name")
            result[key] = val
    return result


def parse_args(argv: list[str]) -> Options:
    """Validate everything that can be validated without starting ansible; UsageError on bad input."""
    args = build_parser().parse_args(argv)
    if not args.command:
        raise UsageError("a command is required: activate, rollback or incident_check")
    extravars = parse_extravars(args.extra_vars)
    version = getattr(args, "version", None)
    if "version" in extravars:
        if args.command == "incident_check":
            raise UsageError("incident_check takes no version")
        if version is not None and extravars["version"] != version:
            raise UsageError(f"--version {version} and -e version={extravars['version']} disagree")
        version = str(extravars.pop("version"))
    if version is not None and not VERSION_RE.match(version):
        raise UsageError(f"invalid version {version!r}: expected a tag like v7.6 ({VERSION_PATTERN})")
    inventory = Path(args.inventory).absolute() if args.inventory else None
    if inventory is not None and not inventory.exists():
        raise UsageError(f"inventory {args.inventory} does not exist")
    private = Path(args.private_data_dir).absolute() if args.private_data_dir else None
    if private is not None and private.exists() and not private.is_dir():
        raise UsageError(f"private data dir {args.private_data_dir} is not a directory")
    if args.limit is not None and not args.limit.strip():
        raise UsageError("--limit is empty")
    return Options(
        command=args.command, playbook=PLAYBOOKS[args.command], version=version, limit=args.limit,
        inventory=inventory, extravars=extravars, events=Path(args.events).absolute() if args.events else None,
        private_data_dir=private,
    )


def _absolute_dir_env(name: str) -> str | None:
    value = os.environ.get(name)
    return str(Path(value).absolute()) if value else None


def runner_kwargs(options: Options, ident: str) -> dict:
    """ansible_runner.run() arguments, without the extra vars (see extravars_file). With an AWX-style
    private data dir, its project/, inventory and env/ are used as they are; what it lacks comes from
    this repo. ansible-runner writes nothing under env/ (suppress_env_files)."""
    private = options.private_data_dir or Path(_absolute_dir_env("HEDGE_REPORT_DIR") or Path("reports").absolute()) / "hedge_run"
    project = private / "project" if (private / "project").is_dir() else REPO
    if not (project / options.playbook).is_file():
        raise UsageError(f"playbook {options.playbook} not found in project {project}")
    if project == REPO:
        leftovers = [f"env/{name}" for name in RUNNER_ENV_FILES if (private / "env" / name).exists()]
        if leftovers:
            raise UsageError(
                f"private data dir {private} holds {', '.join(leftovers)}, left by an earlier hedge_run: ansible-runner "
                "would load them into this run (they may hold secrets); delete them, or give an AWX-style "
                "--private-data-dir (with project/)")
    envvars = {"ANSIBLE_NOCOLOR": os.environ.get("ANSIBLE_NOCOLOR", "1"),
               # ansible-runner does not read stdout_callback from ansible.cfg: the
               # project's callback prints a failed gate once (plugins/callback/gate_display.py).
               "ANSIBLE_STDOUT_CALLBACK": os.environ.get("ANSIBLE_STDOUT_CALLBACK",
                                                         "gpt_hedge.activation.gate_display")}
    # Relative report/opslog dirs mean the caller's cwd (ansible runs in the project dir).
    for name in ("HEDGE_REPORT_DIR", "HEDGE_OPSLOG_DIR"):
        value = _absolute_dir_env(name)
        if value:
            envvars[name] = value
    # The ansible-playbook next to this interpreter (the venv's), whatever PATH says.
    bindir = str(Path(sys.executable).parent)
    if (Path(bindir) / "ansible-playbook").exists():
        path = os.environ.get("PATH", "")
        if path.split(os.pathsep)[0] != bindir:
            envvars["PATH"] = os.pathsep.join([bindir, path]) if path else bindir
    kwargs = {
        "private_data_dir": str(private),
        "playbook": options.playbook,
        "ident": ident,
        "envvars": envvars,
        "quiet": True,
        "suppress_env_files": True,
    }
    if project == REPO:
        kwargs["project_dir"] = str(REPO)
    if options.inventory is not None:
        kwargs["inventory"] = str(options.inventory)
    elif not (private / "inventory").exists():
        kwargs["inventory"] = str(DEFAULT_INVENTORY)
    if options.limit:
        kwargs["limit"] = options.limit
    return kwargs


def run_extravars(options: Options) -> dict:
    """This run's extra vars: the -e values and the version."""
    extravars = dict(options.extravars)
    if options.version is not None:
        extravars["version"] = options.version
    return extravars


@contextmanager
def extravars_file(extravars: dict):
    """A 0600 JSON file of the extra vars outside the private data dir ($XDG_RUNTIME_DIR, else the temp
    dir), for `-e @FILE`; removed when the context ends (remove() removes it earlier). None when empty."""
    if not extravars:
        yield None
        return
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    fd, name = tempfile.mkstemp(prefix="hedge_run-", suffix=".json",
                                dir=runtime if runtime and os.path.isdir(runtime) else None)
    path = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:  # mkstemp: mode 0600
            json.dump(extravars, handle)
        yield path
    finally:
        path.unlink(missing_ok=True)


def new_ident(command: str) -> str:
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{command}-{stamp}-{uuid.uuid4().hex[:8]}"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        options = parse_args(argv)
        ident = new_ident(options.command)
        kwargs = runner_kwargs(options, ident)
    except UsageError as exc:
        print(f"hedge_run: error: {exc}", file=sys.stderr)
        return USAGE_EXIT

    # Imported once the arguments are known good: nothing starts on bad input.
    import ansible_runner
    from ansible_runner.exceptions import ConfigurationError

    private = Path(kwargs["private_data_dir"])
    private.mkdir(parents=True, exist_ok=True)
    events = options.events or private / "artifacts" / ident / "hedge_events.jsonl"
    progress = Progress(events_path=events, out=lambda line: print(line, flush=True))
    title = options.playbook + (f" {options.version}" if options.version else "")
    print(f"[{0.0:6.1f}s] hedge_run {title}: private data dir {private}, ident {ident}", flush=True)

    interrupted = []
    previous = signal.signal(signal.SIGINT, lambda *_: interrupted.append(True))
    done = threading.Event()
    ticker = threading.Thread(target=_tick, args=(progress, done), name="hedge_run-ticker", daemon=True)
    try:
        with extravars_file(run_extravars(options)) as extravars:
            if extravars is not None:
                kwargs["extravars"] = str(extravars)
            ticker.start()
            result = ansible_runner.run(
                **kwargs,
                event_handler=_removing_on_start(progress.event_handler, extravars),
                status_handler=progress.status_handler,
                cancel_callback=lambda: bool(interrupted),
            )
        status, rc = result.status, result.rc
    except ConfigurationError as exc:
        print(f"hedge_run: error: {exc}", file=sys.stderr)
        return USAGE_EXIT
    finally:
        done.set()
        if ticker.is_alive():
            ticker.join()
        signal.signal(signal.SIGINT, previous)
        progress.close()
    code = progress.exit_code(status, rc)
    for line in progress.flush_error() + progress.summary_lines(title, code):
        print(line, flush=True)
    return code


def _tick(progress: Progress, done: threading.Event) -> None:
    while not done.wait(TICK_SECONDS):
        progress.tick()


def _removing_on_start(handler, extravars: Path | None):
    """The event handler, removing the extra vars file at the first event: ansible-playbook has read
    its -e files before its playbook starts (the file is removed at the end of the run anyway)."""
    def handle(event: dict) -> bool:
        if extravars is not None and event.get("event") == "playbook_on_start":
            extravars.unlink(missing_ok=True)
        return handler(event)
    return handle
