"""Where the runs the gate and diffs judge come from: a command run with the agent in every JVM
it starts (`unclosed run`), or databases and data folders (`check`, `baseline`, `diff`; several
at once for a fleet, one per host or JVM). Each run is read with its findings
(findings.RunFindings), and whether its JVM is known to be running still."""

import os
import shlex
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .attach import agent_jar
from .datafiles import import_data_folder
from .errors import UnclosedError
from .findings import RunFindings, group
from .store import Store

TOOL_OPTIONS = "JAVA_TOOL_OPTIONS"


def agent_environment(data_dir, options: dict | None = None, env=None) -> dict:
    """The environment for a command: the agent (with `options`, docs/protocol.md) added to
    JAVA_TOOL_OPTIONS, which every JVM reads, after whatever the user already had there."""
    env = dict(os.environ if env is None else env)
    extra = "".join(f",{key}={value}" for key, value in (options or {}).items())
    agent = f"-javaagent:{agent_jar()}=data={data_dir}{extra}"
    if any(c.isspace() for c in agent):
        # JAVA_TOOL_OPTIONS splits on white space; quotes keep the path whole.
        agent = shlex.quote(agent)
    env[TOOL_OPTIONS] = f"{env[TOOL_OPTIONS]} {agent}" if env.get(TOOL_OPTIONS) else agent
    return env


STOP_GRACE_S = 10.0  # after passing on SIGINT/SIGTERM: how long the command may take to stop


@dataclass
class CommandResult:
    exit_code: int  # as a shell says it: 128 + N when a signal N ended the command
    stopped_by: str | None = None  # the signal that stopped it (SIGTERM, SIGINT), passed on by us


def run_command(command: list[str], data_dir: Path, options: dict | None = None) -> CommandResult:
    """Runs the command to its end with the agent in its JVMs. SIGINT and SIGTERM (a CI
    timeout, Ctrl-C) are passed on to it, in a process group of its own, and to the JVMs that
    record into `data_dir`; after STOP_GRACE_S whatever is left is killed, so that the data
    they wrote is gathered and nothing keeps running."""
    try:
        process = subprocess.Popen(command, env=agent_environment(data_dir, options), start_new_session=True)
    except OSError as e:
        raise UnclosedError(f"cannot run {command[0]}: {e.strerror}") from None
    received: list[int] = []

    def pass_on(signum, frame):
        received.append(signum)
        _signal_group(process.pid, signum)

    previous = {sig: signal.signal(sig, pass_on) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while process.poll() is None and not received:
            time.sleep(0.05)
        if received:
            _stop(process, data_dir, received[0])
        code = process.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return CommandResult(128 - code if code < 0 else code,
                         signal.Signals(received[0]).name if received else None)


def _stop(process: subprocess.Popen, data_dir: Path, signum: int) -> None:
    """The command and the JVMs recording into `data_dir` (a daemon the command started, in a
    session of its own) get the signal, then STOP_GRACE_S, then SIGKILL."""
    jvms = _recording_jvms(data_dir)
    for pid in jvms:
        _signal(pid, signum)
    deadline = time.monotonic() + STOP_GRACE_S
    while time.monotonic() < deadline and (process.poll() is None or any(_alive(pid) for pid in jvms)):
        time.sleep(0.05)
    _signal_group(process.pid, signal.SIGKILL)
    for pid in jvms:
        _signal(pid, signal.SIGKILL)


def _recording_jvms(data_dir: Path) -> list[int]:
    """Running processes whose agent records into `data_dir`: the pids its files name, still alive
    with the agent's option for this folder in their environment."""
    marker = f"data={data_dir}".encode()
    pids = []
    for pid in {int(p.name.split("-")[1]) for p in data_dir.glob("unclosed-*-*.tsv")}:
        try:
            if marker in Path(f"/proc/{pid}/environ").read_bytes():
                pids.append(pid)
        except OSError:
            continue
    return pids


def _signal_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _alive(pid: int) -> bool:
    return _start_time_s(pid) is not None


def run_recorded(command: list[str], db_path: Path | None = None, label: str | None = None,
                 sample: int | None = None) -> tuple[CommandResult, list[RunFindings]]:
    """Runs the command with the agent (tracking 1 object in `sample`) in every JVM it starts,
    and keeps one run per JVM in the database at `db_path` (default: a temporary one). Returns
    how the command ended and the runs."""
    with tempfile.TemporaryDirectory(prefix="unclosed-run-") as scratch:
        data_dir = Path(scratch) / "data"
        data_dir.mkdir(mode=0o700)
        ended = run_command(command, data_dir, {"sample": sample} if sample else {})
        with Store(db_path or Path(scratch) / "run.db") as store:
            imported = import_data_folder(store, data_dir, label)
            return ended, read_runs(store, [jvm["run_id"] for jvm in imported], " ".join(command))


def read_sources(paths: list[Path], db_path: Path | None = None, run_id: int | None = None,
                 label: str | None = None, include_clean: bool = False) -> list[RunFindings]:
    """The runs of several sources at once (a fleet: a database or data folder per host or JVM),
    each read as read_source reads it."""
    return [rf for path in paths for rf in read_source(path, db_path, run_id, label, include_clean)]


def read_source(source: Path, db_path: Path | None = None, run_id: int | None = None,
                label: str | None = None, include_clean: bool = False) -> list[RunFindings]:
    """The runs of a database (all, or run `run_id`, or those labelled `label`), or of a data
    folder, imported into the database at `db_path` (default: a temporary one) as one run per
    JVM; with `include_clean`, the sites that released everything too."""
    with tempfile.TemporaryDirectory(prefix="unclosed-check-") as scratch:
        if source.is_dir():
            with Store(db_path or Path(scratch) / "check.db") as store:
                run_ids = [jvm["run_id"] for jvm in import_data_folder(store, source, label)]
                if not run_ids:
                    raise UnclosedError(f"{source} holds no data files: did the JVMs run with the agent's data= option?")
                return read_runs(store, run_ids, str(source), include_clean)
        with Store(source, readonly=True) as store:
            runs = [r for r in store.runs() if label is None or r["label"] == label]
            run_ids = [store.run(run_id)["id"]] if run_id else [r["id"] for r in runs]
            if not run_ids:
                raise UnclosedError(f"{source} has no runs{' labelled ' + label if label else ''}")
            return read_runs(store, run_ids, str(source), include_clean)


def read_runs(store: Store, run_ids: list[int], source: str, include_clean: bool = False) -> list[RunFindings]:
    """Runs of a store with their findings; `source` names where they came from."""
    runs = []
    for run_id in run_ids:
        run = store.run(run_id)
        grouped = group(store.site_findings(run_id, include_clean=include_clean), store.site_tests(run_id))
        runs.append(RunFindings(source, run, grouped, store.counters(run_id), still_running(run)))
    return runs


def still_running(run: dict) -> bool:
    """Whether a run's JVM is known to be running still, its data not ended yet: the run has no
    exit record, was recorded on this host, and its pid is a live JVM that was started before
    tracking began (not a later process given the same pid). Anything unknown says no."""
    if run.get("exit_ms") is not None or run.get("host") != socket.gethostname() or not run.get("tracking_since_ms"):
        return False
    started_s = _start_time_s(run["pid"])
    if started_s is None or started_s > run["tracking_since_ms"] / 1000 + 1:  # /proc says it to 1 s
        return False
    try:
        return b"/libjvm.so" in Path(f"/proc/{run['pid']}/maps").read_bytes()
    except OSError:
        return False


def _start_time_s(pid: int) -> float | None:
    """When a live process started, in seconds since the epoch (None: no such process, or a zombie)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        boot_s = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                      if line.startswith("btime "))
    except (OSError, StopIteration, IndexError, ValueError):
        return None
    if fields[0] == "Z":
        return None
    return boot_s + int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22, starttime, in clock ticks since boot
