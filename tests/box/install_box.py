#!/usr/bin/env python3
"""Install, start, stop and fault-toggle a simulated GPT-Hedge runtime box.

Local layout (default; everything under ``--prefix P``, default ``./.box``)::

    P/origin.git                bare origin (tags v7.5, v7.6[, bad tag])
    P/hedge-fund                clone, detached at tag v7.5
    P/hedge-fund/venv           box venv (+ hedge-sim.json -> faults dir)
    P/faults/<VERSION>          fault switches (see engine/hedge/simfaults.py)
    P/supervisor/               unprivileged supervisord: venv, supervisord.conf, socket, pid
    P/log/hedge-executor.{out,err}.log, P/log/supervisor/<program>.log
    P/box.json                  description of the box for tests and inventories

``--container`` writes the contract paths instead (``/root/hedge-fund``,
``/root/origin.git``, ``/var/log/...``, ``/root/hedge-sim-faults``, program
config ``/etc/supervisor/conf.d/hedge.conf`` for the system supervisord) and
starts nothing; ``P`` (default ``/root/hedge-sim``) then only holds box.json.

Commands::

    install_box.py [install] [options]      install (and start, unless --no-start)
    install_box.py start        --prefix P  start an installed local box, wait ready
    install_box.py stop         --prefix P  supervisorctl shutdown, wait for the pids
    install_box.py set-fault VERSION NAME... --prefix P
    install_box.py clear-faults [VERSION]   --prefix P

Importable: ``make_config``, ``install``, ``start_box``, ``wait_ready``,
``stop_box``, ``load_box``, ``set_fault``, ``clear_faults``, ``supervisorctl``.
"""
import argparse
import fcntl
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "engine", "hedge"))
import make_origin  # noqa: E402
import simfaults  # noqa: E402

GROUP = "hedge"
INITIAL_TAG = "v7.5"
TAGS = ("v7.5", "v7.6")
ROLES = ("executor", "dashboard", "sync_state")
DEFAULT_PROGRAMS = {"executor": "hedge-executor", "dashboard": "hedge-dashboard", "sync_state": "hedge-sync_state"}
DEFAULT_LOCAL_PREFIX = ".box"
DEFAULT_CONTAINER_PREFIX = "/root/hedge-sim"
CONTAINER_PATHS = {
    "checkout": "/root/hedge-fund",
    "origin": "/root/origin.git",
    "log_dir": "/var/log",
    "faults_dir": "/root/hedge-sim-faults",
    "supervisor_conf": "/etc/supervisor/conf.d/hedge.conf",
}
MAX_SOCKET_PATH = 100  # AF_UNIX paths are limited to ~107 bytes
SUBCOMMANDS = ("install", "start", "stop", "set-fault", "clear-faults")


class BoxError(RuntimeError):
    """A box could not be installed, started or stopped."""


# --- configuration ---------------------------------------------------------

def make_config(prefix=None, container=False, checkout=None, origin=None, log_dir=None, faults_dir=None,
                supervisor_conf=None, port=8501, loop_interval=1.0, intel_interval=300.0, programs=None,
                executor_log_layout="split", bad_version_tag=None, system_site_packages=False,
                supervisor_bin=None, python=None, bad_docs_tag=None, no_sanity_tag=None, service_user=None,
                site_cache=None):
    """Return the box description (the content of box.json) for the options."""
    prefix = os.path.abspath(prefix or (DEFAULT_CONTAINER_PREFIX if container else DEFAULT_LOCAL_PREFIX))
    if container:
        defaults = dict(CONTAINER_PATHS)
    else:
        defaults = {"checkout": os.path.join(prefix, "hedge-fund"), "origin": os.path.join(prefix, "origin.git"),
                    "log_dir": os.path.join(prefix, "log"), "faults_dir": os.path.join(prefix, "faults"),
                    "supervisor_conf": os.path.join(prefix, "supervisor", "supervisord.conf")}
    given = {"checkout": checkout, "origin": origin, "log_dir": log_dir, "faults_dir": faults_dir,
             "supervisor_conf": supervisor_conf}
    paths = {k: os.path.abspath(given[k] or defaults[k]) for k in defaults}
    names = dict(DEFAULT_PROGRAMS, **{k: v for k, v in (programs or {}).items() if v})
    checkout, log_dir = paths["checkout"], paths["log_dir"]
    sup_log_dir = os.path.join(log_dir, "supervisor")
    program_logs = {names[r]: os.path.join(sup_log_dir, names[r] + ".log") for r in ("dashboard", "sync_state")}
    if executor_log_layout == "split":
        out_log = os.path.join(log_dir, names["executor"] + ".out.log")
        err_log = os.path.join(log_dir, names["executor"] + ".err.log")
    elif executor_log_layout == "combined":
        out_log, err_log = os.path.join(sup_log_dir, names["executor"] + ".log"), None
    else:
        raise BoxError("executor_log_layout must be 'split' or 'combined'")
    program_logs[names["executor"]] = out_log
    box = dict(paths, mode="container" if container else "local", prefix=prefix,
               box_json=os.path.join(prefix, "box.json"),
               venv=os.path.join(checkout, "venv"), venv_python=os.path.join(checkout, "venv", "bin", "python"),
               sim_pointer=os.path.join(checkout, "venv", simfaults.POINTER_FILE),
               state_dir=os.path.join(checkout, "logs", "state"), version_file=os.path.join(checkout, "VERSION"),
               initial_version=INITIAL_TAG,
               tags=list(TAGS) + [t for t in (bad_version_tag, bad_docs_tag, no_sanity_tag) if t],
               bad_version_tag=bad_version_tag, bad_docs_tag=bad_docs_tag, no_sanity_tag=no_sanity_tag,
               supervisor_log_dir=sup_log_dir, executor_log_layout=executor_log_layout,
               executor_out_log=out_log, executor_err_log=err_log, program_logs=program_logs,
               port=int(port), healthz_url="http://127.0.0.1:%d/healthz" % int(port),
               dashboard_url="http://127.0.0.1:%d/" % int(port),
               loop_interval=float(loop_interval), intel_interval=float(intel_interval),
               group=GROUP, programs=names, program_names=[names[r] for r in ROLES],
               system_site_packages=bool(system_site_packages), service_user=service_user or None,
               site_cache=os.path.abspath(site_cache) if site_cache else None,
               python=python or shutil.which("python3") or sys.executable)
    if container:
        ctl = shutil.which("supervisorctl") or "supervisorctl"
        box.update(supervisor_dir=None, supervisor_socket=None, supervisor_serverurl=None, supervisor_pidfile=None,
                   supervisord_log=None, supervisord=shutil.which("supervisord") or "supervisord",
                   supervisorctl=ctl, supervisorctl_cmd=[ctl], supervisor_venv=None)
    else:
        sup_dir = os.path.join(prefix, "supervisor")
        bindir = os.path.abspath(supervisor_bin) if supervisor_bin else os.path.join(sup_dir, "venv", "bin")
        sock = os.path.join(sup_dir, "supervisor.sock")
        box.update(supervisor_dir=sup_dir, supervisor_socket=sock, supervisor_serverurl="unix://" + sock,
                   supervisor_pidfile=os.path.join(sup_dir, "supervisord.pid"),
                   supervisord_log=os.path.join(log_dir, "supervisord.log"),
                   supervisord=os.path.join(bindir, "supervisord"), supervisorctl=os.path.join(bindir, "supervisorctl"),
                   supervisorctl_cmd=[os.path.join(bindir, "supervisorctl"), "-c", paths["supervisor_conf"]],
                   supervisor_venv=None if supervisor_bin else os.path.join(sup_dir, "venv"))
    return box


def load_box(prefix=None, box_json=None):
    """Read box.json (from ``box_json`` or ``<prefix>/box.json``)."""
    path = box_json or os.path.join(os.path.abspath(prefix or DEFAULT_LOCAL_PREFIX), "box.json")
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise BoxError("no box at %s (box.json missing)" % path) from None


# --- supervisor config -----------------------------------------------------

def programs_conf(box):
    """The [group:hedge] and [program:*] sections."""
    env = 'HEDGE_SIM_LOOP_S="%s",HEDGE_SIM_INTEL_S="%s",HEDGE_DASHBOARD_PORT="%d",PYTHONUNBUFFERED="1"' % (
        box["loop_interval"], box["intel_interval"], box["port"])
    lines = ["[group:%s]" % box["group"], "programs=%s" % ",".join(box["program_names"]), ""]
    for role in ROLES:
        name = box["programs"][role]
        lines += ["[program:%s]" % name,
                  "command=%s hedge/%s.py" % (shlex.quote(box["venv_python"]), role),
                  "directory=%s" % box["checkout"],
                  "autostart=true", "autorestart=true", "startsecs=2", "startretries=1",
                  "stopsignal=TERM", "stopwaitsecs=10", "environment=%s" % env]
        if box.get("service_user"):
            lines.append("user=%s" % box["service_user"])
        if role == "executor" and box["executor_err_log"]:
            lines += ["stdout_logfile=%s" % box["executor_out_log"], "stderr_logfile=%s" % box["executor_err_log"]]
        else:
            lines += ["redirect_stderr=true", "stdout_logfile=%s" % box["program_logs"][name]]
        lines.append("")
    return "\n".join(lines)


def supervisord_conf(box):
    """A complete, unprivileged supervisord.conf for a local box."""
    head = """; supervisord of the simulated GPT-Hedge box (written by install_box.py)
[unix_http_server]
file={sock}
chmod=0700

[supervisord]
logfile={log}
logfile_maxbytes=5MB
logfile_backups=1
pidfile={pid}
childlogdir={childlogs}
directory={prefix}
identifier=hedge-sim

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl={url}

""".format(sock=box["supervisor_socket"], log=box["supervisord_log"], pid=box["supervisor_pidfile"],
           childlogs=box["supervisor_log_dir"], prefix=box["prefix"], url=box["supervisor_serverurl"])
    return head + programs_conf(box)


# --- helpers ---------------------------------------------------------------

def _run(cmd, **kw):
    """Run ``cmd``; raise BoxError with its output on failure."""
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    if proc.returncode != 0:
        raise BoxError("command failed (%d): %s\n%s" % (proc.returncode, " ".join(cmd), proc.stdout))
    return proc.stdout


def _write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def _clean_env():
    """The installer's environment minus anything that would leak into the engine."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("HEDGE_", "PYTHON", "VIRTUAL_ENV", "SUPERVISOR_"))}


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open("/proc/%d/stat" % pid, encoding="utf-8") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is gone
    except (OSError, IndexError):
        return True


def _wait_gone(pids, deadline):
    while any(_pid_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return [p for p in pids if _pid_alive(p)]


def _tail(path, n=20):
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return "".join(fh.readlines()[-n:])
    except (OSError, TypeError):
        return ""


def supervisorctl(box, *args, timeout=60):
    """Run supervisorctl of the box; return the CompletedProcess (never raises on status)."""
    return subprocess.run(list(box["supervisorctl_cmd"]) + list(args), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=timeout)


def program_states(box):
    """``{program name: STATE}`` from ``supervisorctl status``."""
    states = {}
    for line in supervisorctl(box, "status").stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            states[parts[0].split(":")[-1]] = parts[1]
    return states


def healthz(box, timeout=2.0):
    """HTTP status of the dashboard's /healthz, or None when unreachable."""
    try:
        with urllib.request.urlopen(box["healthz_url"], timeout=timeout) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, ValueError):
        return None


# --- install / start / stop ------------------------------------------------

def _ensure_fresh(box, force):
    """Refuse to install over an existing box unless ``force`` (then stop + wipe)."""
    prefix = box["prefix"]
    taken = [p for p in (prefix, box["checkout"], box["origin"])
             if os.path.exists(p) and (not os.path.isdir(p) or os.listdir(p))]
    if box["mode"] == "container" and os.path.exists(box["supervisor_conf"]):
        taken.append(box["supervisor_conf"])
    if not taken:
        return
    if not force:
        raise BoxError("a box (or other files) already exists at %s; use --force to stop and wipe it"
                       % ", ".join(taken))
    old = os.path.join(prefix, "box.json")
    if os.path.exists(old):
        try:
            old_box = load_box(box_json=old)
            if old_box.get("mode") == "local":
                stop_box(old_box)
        except (BoxError, ValueError) as exc:
            print("install_box: could not stop old box cleanly: %s" % exc, file=sys.stderr)
    for path in (box["checkout"], box["origin"], box["faults_dir"], prefix):
        if os.path.abspath(path) in ("/", os.path.expanduser("~")):
            raise BoxError("refusing to wipe %s" % path)
        shutil.rmtree(path, ignore_errors=True)
    if box["mode"] == "container" and os.path.exists(box["supervisor_conf"]):
        os.remove(box["supervisor_conf"])


def install(box, force=False, start=True, timeout=60.0, log=print):
    """Install the box described by ``box`` (see make_config); start it unless told not to."""
    if box["mode"] == "local" and len(box["supervisor_socket"]) > MAX_SOCKET_PATH:
        raise BoxError("prefix too long: supervisor socket path %s exceeds %d chars"
                       % (box["supervisor_socket"], MAX_SOCKET_PATH))
    if box["mode"] == "container":
        start = False
    _ensure_fresh(box, force)
    os.makedirs(box["prefix"], exist_ok=True)
    log("install_box: origin %s" % box["origin"])
    make_origin.build_origin(box["origin"], box["bad_version_tag"], box.get("bad_docs_tag"), box.get("no_sanity_tag"))
    log("install_box: checkout %s at %s" % (box["checkout"], INITIAL_TAG))
    _run(["git", "clone", "-q", box["origin"], box["checkout"]])
    # A file:// URL, as ansible.builtin.git would rewrite a bare path to: the
    # automation must not have to change the live checkout's remote.
    _run(["git", "-C", box["checkout"], "remote", "set-url", "origin", "file://" + box["origin"]])
    _run(["git", "-c", "advice.detachedHead=false", "checkout", "-q", INITIAL_TAG], cwd=box["checkout"])
    log("install_box: venv %s" % box["venv"])
    make_venv(box)
    _write(box["sim_pointer"], json.dumps({"faults_dir": box["faults_dir"]}, indent=2) + "\n")
    os.makedirs(box["faults_dir"], exist_ok=True)
    os.makedirs(box["supervisor_log_dir"], exist_ok=True)
    if box["mode"] == "local":
        if box["supervisor_venv"]:
            log("install_box: supervisor venv %s" % box["supervisor_venv"])
            _run([box["python"], "-m", "venv", box["supervisor_venv"]], env=_clean_env())
            _run([os.path.join(box["supervisor_venv"], "bin", "python"), "-m", "pip", "install", "-q", "supervisor"],
                 env=_clean_env())
        _write(box["supervisor_conf"], supervisord_conf(box))
    else:
        _write(box["supervisor_conf"], programs_conf(box))
    _write(box["box_json"], json.dumps(box, indent=2, sort_keys=True) + "\n")
    if box.get("service_user"):
        own_by_service_user(box, log)
    if start:
        start_box(box, timeout=timeout, log=log)
    return box


def make_venv(box):
    """The box's venv, with pytest for ``make pretag``: pip-installed into it, or (``site_cache``) a venv
    without pip whose site-packages points at a pytest installed once into the cache directory."""
    if box.get("site_cache") and not box["system_site_packages"]:
        site = site_cache_dir(box["site_cache"], box["python"])
        _run([box["python"], "-m", "venv", "--without-pip", box["venv"]], env=_clean_env())
        purelib = _run([box["venv_python"], "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                       env=_clean_env()).strip()
        _write(os.path.join(purelib, "hedge_box_site_cache.pth"), site + "\n")
        return
    _run([box["python"], "-m", "venv"] + (["--system-site-packages"] if box["system_site_packages"] else [])
         + [box["venv"]], env=_clean_env())
    if not box["system_site_packages"]:
        _run([box["venv_python"], "-m", "pip", "install", "-q", "pytest"], env=_clean_env())


def site_cache_dir(cache, python):
    """``<cache>/py<X.Y>``: pytest installed there once (under a lock, by whichever install comes first),
    readable by every account (a service user's venv points at it)."""
    tag = _run([python, "-c", "import sys; print('py%d.%d' % sys.version_info[:2])"], env=_clean_env()).strip()
    site = os.path.join(cache, tag)
    os.makedirs(cache, mode=0o755, exist_ok=True)
    with open(os.path.join(cache, tag + ".lock"), "w", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.isdir(site):
            building = site + ".building"
            shutil.rmtree(building, ignore_errors=True)
            _run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--target", building,
                  "pytest"], env=_clean_env())
            for root, dirs, files in os.walk(building):
                for name in dirs:
                    os.chmod(os.path.join(root, name), 0o755)
                for name in files:
                    os.chmod(os.path.join(root, name), 0o644)
            os.chmod(building, 0o755)
            os.rename(building, site)
    return site


def own_by_service_user(box, log=print):
    """A real box: the checkout, its venv, the origin, the logs and the faults belong to the
    service account that supervisord runs the programs as; supervisord's own directory (its
    socket, mode 0700) stays root's, so supervisorctl needs root (sudo) as on a real box."""
    user = box["service_user"]
    log("install_box: owned by service user %s (supervisord's socket stays root's)" % user)
    paths = [box["checkout"], box["origin"], box["faults_dir"]] + ([box["log_dir"]] if box["mode"] == "local" else [])
    _run(["chown", "-R", "%s:%s" % (user, user)] + sorted(set(p for p in paths if os.path.exists(p))))
    if box["mode"] == "local":  # the prefix itself (not supervisor/): room for the preflight's scratch clones
        _run(["chown", "%s:%s" % (user, user), box["prefix"]])


def start_box(box, timeout=60.0, log=print):
    """Start the local box's supervisord and wait until the box is ready."""
    if box["mode"] != "local":
        raise BoxError("container boxes are started by the system supervisord")
    if os.path.exists(box["supervisor_socket"]) and supervisorctl(box, "pid").returncode == 0:
        raise BoxError("supervisord of %s is already running" % box["prefix"])
    with open(os.path.join(box["log_dir"], "supervisord.boot.log"), "a", encoding="utf-8") as boot_log:
        proc = subprocess.run([box["supervisord"], "-c", box["supervisor_conf"]], stdout=boot_log,
                              stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=_clean_env(), timeout=30)
    if proc.returncode != 0:
        raise BoxError("supervisord failed to start (rc %d); see %s" % (proc.returncode, boot_log.name))
    try:
        wait_ready(box, timeout=timeout)
    except BoxError:
        stop_box(box)
        raise
    log("install_box: box ready (dashboard %s)" % box["dashboard_url"])


def wait_ready(box, timeout=60.0):
    """Poll until all programs are RUNNING, engine_metadata.json exists and healthz answers 200."""
    deadline = time.monotonic() + timeout
    metadata = os.path.join(box["state_dir"], "engine_metadata.json")
    while True:
        try:
            states = program_states(box)
        except subprocess.TimeoutExpired:
            states = {}
        waiting = ["%s is %s" % (n, states.get(n, "absent")) for n in box["program_names"]
                   if states.get(n) != "RUNNING"]
        if not os.path.exists(metadata):
            waiting.append("%s not written yet" % metadata)
        code = healthz(box)
        if code != 200:
            waiting.append("healthz answered %s" % code)
        if not waiting:
            return
        if time.monotonic() > deadline:
            raise BoxError("box not ready after %ss: %s\n--- executor err log ---\n%s" % (
                timeout, "; ".join(waiting), _tail(box["executor_err_log"] or box["executor_out_log"])))
        time.sleep(0.25)


def stop_box(box, timeout=30.0):
    """Shut the local box's supervisord down and wait until it and its programs are gone."""
    if box["mode"] != "local":
        return
    try:
        with open(box["supervisor_pidfile"], encoding="utf-8") as fh:
            pid = int(fh.read().strip())
    except (OSError, ValueError):
        return  # never started, or already stopped
    if not _pid_alive(pid):
        return
    children = []
    for line in supervisorctl(box, "pid", "all", timeout=15).stdout.split():
        if line.isdigit() and int(line) > 0:
            children.append(int(line))
    supervisorctl(box, "shutdown", timeout=30)
    deadline = time.monotonic() + timeout
    if _wait_gone([pid], deadline):
        os.kill(pid, signal.SIGTERM)  # the supervisord we started, by its pid
        if _wait_gone([pid], time.monotonic() + 10):
            raise BoxError("supervisord pid %d did not exit" % pid)
    for child in _wait_gone(children, time.monotonic() + 10):
        os.kill(child, signal.SIGTERM)


# --- faults ----------------------------------------------------------------

def _check_faults(names):
    unknown = sorted(name for name in names if simfaults.split_entry(name)[0] not in simfaults.FAULTS)
    if unknown:
        raise BoxError("unknown fault(s) %s; known: %s" % (", ".join(unknown), ", ".join(simfaults.FAULTS)))


def _fault_entry(text):
    """argparse type of a set-fault NAME: a known fault, optionally delayed (``publish_errors@+20s``)."""
    if simfaults.split_entry(text)[0] not in simfaults.FAULTS:
        raise argparse.ArgumentTypeError("unknown fault %r; known: %s (optionally <fault>@+<N>s)"
                                         % (text, ", ".join(simfaults.FAULTS)))
    return text


def set_fault(faults_dir, version, *names):
    """Activate ``names`` for ``version`` (added to ``<faults_dir>/<version>``); a name ``<fault>@+<N>s`` acts
    once the engine process has run N s (simfaults.py)."""
    _check_faults(names)
    path = os.path.join(faults_dir, version)
    try:
        with open(path, encoding="utf-8") as fh:
            current = fh.read().splitlines()
    except FileNotFoundError:
        current = []
    current += [n for n in names if n not in [line.split("#", 1)[0].strip() for line in current]]
    _write(path, "\n".join(current) + "\n")


def clear_faults(faults_dir, version=None):
    """Deactivate all faults of ``version`` (of every version when None)."""
    if not os.path.isdir(faults_dir):
        return
    for name in [version] if version else os.listdir(faults_dir):
        path = os.path.join(faults_dir, name)
        if os.path.isfile(path):
            os.remove(path)


# --- CLI -------------------------------------------------------------------

def _parser():
    parser = argparse.ArgumentParser(prog="install_box.py", description="Simulated GPT-Hedge runtime box.")
    sub = parser.add_subparsers(dest="command")

    def box_args(p):
        p.add_argument("--prefix", help="box prefix (default ./%s, container: %s)"
                       % (DEFAULT_LOCAL_PREFIX, DEFAULT_CONTAINER_PREFIX))
        p.add_argument("--box-json", help="path of box.json (default <prefix>/box.json)")

    ins = sub.add_parser("install", help="install a box (default command)")
    ins.add_argument("--prefix", help="box prefix (default ./%s, container: %s)"
                     % (DEFAULT_LOCAL_PREFIX, DEFAULT_CONTAINER_PREFIX))
    ins.add_argument("--container", action="store_true", help="contract paths, system supervisord, start nothing")
    for opt in ("checkout", "origin", "log-dir", "faults-dir", "supervisor-conf"):
        ins.add_argument("--" + opt, metavar="PATH", help="override the %s path" % opt)
    ins.add_argument("--port", type=int, default=8501, help="dashboard port (default 8501)")
    ins.add_argument("--loop-interval", type=float, default=1.0, help="engine loop seconds (default 1.0)")
    ins.add_argument("--intel-interval", type=float, default=300.0, help="intel surfaces seconds (default 300)")
    for role, opt in (("executor", "executor"), ("dashboard", "dashboard"), ("sync_state", "sync")):
        ins.add_argument("--%s-program-name" % opt, dest="%s_name" % role, metavar="NAME",
                         default=DEFAULT_PROGRAMS[role], help="default %s" % DEFAULT_PROGRAMS[role])
    ins.add_argument("--executor-log-layout", choices=("split", "combined"), default="split",
                     help="split: <log-dir>/hedge-executor.{out,err}.log; combined: <log-dir>/supervisor/<program>.log")
    ins.add_argument("--bad-version-tag", metavar="TAG", help="extra tag whose VERSION still says v7.6")
    ins.add_argument("--bad-docs-tag", metavar="TAG", help="extra tag whose docs_version still says v7.6")
    ins.add_argument("--no-sanity-tag", metavar="TAG", help="extra tag without its runtime sanity script")
    ins.add_argument("--system-site-packages", action="store_true", help="box venv without pip install pytest")
    ins.add_argument("--site-cache", metavar="DIR", default=os.environ.get("HEDGE_BOX_SITE_CACHE") or None,
                     help="pytest installed once under DIR and shared by the box venvs (a .pth file) instead of a "
                          "pip install per box (default: $HEDGE_BOX_SITE_CACHE)")
    ins.add_argument("--supervisor-bin", metavar="DIR", help="use supervisord/supervisorctl from DIR")
    ins.add_argument("--python", help="python used to create the venvs (default python3)")
    ins.add_argument("--service-user", metavar="USER",
                     help="the account that owns the checkout, venv and logs and runs the programs (root runs "
                          "supervisord); default: whoever installs")
    ins.add_argument("--no-start", action="store_true", help="install only")
    ins.add_argument("--force", action="store_true", help="stop and wipe an existing box first")
    ins.add_argument("--timeout", type=float, default=60.0, help="readiness timeout seconds (default 60)")

    box_args(sub.add_parser("start", help="start an installed local box and wait until ready"))
    box_args(sub.add_parser("stop", help="stop a local box's supervisord and programs"))
    sf = sub.add_parser("set-fault", help="activate faults for a version")
    sf.add_argument("version")
    sf.add_argument("names", nargs="+", metavar="NAME", type=_fault_entry,
                    help="a fault (%s), or <fault>@+<N>s: acting once the engine has run N s" % ", ".join(simfaults.FAULTS))
    cf = sub.add_parser("clear-faults", help="clear the faults of a version (all versions if omitted)")
    cf.add_argument("version", nargs="?")
    for p in (sf, cf):
        box_args(p)
        p.add_argument("--faults-dir", help="faults directory (instead of reading box.json)")
    return parser


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in SUBCOMMANDS and argv[0] not in ("-h", "--help")):
        argv.insert(0, "install")
    args = _parser().parse_args(argv)
    try:
        if args.command == "install":
            programs = {r: getattr(args, r + "_name") for r in ROLES}
            box = make_config(args.prefix, args.container, args.checkout, args.origin, args.log_dir,
                              args.faults_dir, args.supervisor_conf, args.port, args.loop_interval,
                              args.intel_interval, programs, args.executor_log_layout, args.bad_version_tag,
                              args.system_site_packages, args.supervisor_bin, args.python,
                              bad_docs_tag=args.bad_docs_tag, no_sanity_tag=args.no_sanity_tag,
                              service_user=args.service_user, site_cache=args.site_cache)
            install(box, force=args.force, start=not args.no_start, timeout=args.timeout)
            print(box["box_json"])
        elif args.command in ("start", "stop"):
            box = load_box(args.prefix, args.box_json)
            if args.command == "start":
                start_box(box)
            else:
                stop_box(box)
        else:
            faults_dir = args.faults_dir or load_box(args.prefix, args.box_json)["faults_dir"]
            if args.command == "set-fault":
                set_fault(faults_dir, args.version, *args.names)
            else:
                clear_faults(faults_dir, args.version)
    except (BoxError, subprocess.CalledProcessError, FileExistsError) as exc:
        print("install_box: error: %s" % exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
