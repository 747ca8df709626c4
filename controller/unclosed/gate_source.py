"""Where the runs the gate judges come from: a command run with the agent in every JVM it
starts (`unclosed run`), or a database or data folder (`check`, `baseline`). Each is read into
records, a run with its sites (gate.RunSites), for gate.evaluate."""

import os
import shlex
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .attach import agent_jar
from .datafiles import import_data_folder
from .errors import UnclosedError
from .gate import RunSites
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
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def run_recorded(command: list[str], db_path: Path | None = None, label: str | None = None,
                 sample: int | None = None) -> tuple[CommandResult, list[RunSites]]:
    """Runs the command with the agent (tracking 1 object in `sample`) in every JVM it starts,
    and keeps one run per JVM in the database at `db_path` (default: a temporary one). Returns
    how the command ended and the runs."""
    with tempfile.TemporaryDirectory(prefix="unclosed-run-") as scratch:
        data_dir = Path(scratch) / "data"
        data_dir.mkdir(mode=0o700)
        ended = run_command(command, data_dir, {"sample": sample} if sample else {})
        with Store(db_path or Path(scratch) / "run.db") as store:
            imported = import_data_folder(store, data_dir, label)
            return ended, runs_with_sites(store, [jvm["run_id"] for jvm in imported])


def read_source(source: Path, db_path: Path | None = None, run_id: int | None = None,
                label: str | None = None) -> list[RunSites]:
    """The runs of a database (all, or run `run_id`, or those labelled `label`), or of a data
    folder, imported into the database at `db_path` (default: a temporary one) as one run per JVM."""
    with tempfile.TemporaryDirectory(prefix="unclosed-check-") as scratch:
        if source.is_dir():
            with Store(db_path or Path(scratch) / "check.db") as store:
                run_ids = [jvm["run_id"] for jvm in import_data_folder(store, source, label)]
                if not run_ids:
                    raise UnclosedError(f"{source} holds no data files: did the JVMs run with the agent's data= option?")
                return runs_with_sites(store, run_ids)
        with Store(source, readonly=True) as store:
            runs = [r for r in store.runs() if label is None or r["label"] == label]
            run_ids = [store.run(run_id)["id"]] if run_id else [r["id"] for r in runs]
            if not run_ids:
                raise UnclosedError(f"{source} has no runs{' labelled ' + label if label else ''}")
            return runs_with_sites(store, run_ids)


def runs_with_sites(store: Store, run_ids: list[int]) -> list[RunSites]:
    return [(store.run(run_id), store.site_findings(run_id)) for run_id in run_ids]
