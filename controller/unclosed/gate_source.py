"""Where the runs the gate judges come from: a command run with the agent in every JVM it
starts (`unclosed run`), or a database or data folder (`check`, `baseline`). Each is read into
records, a run with its sites (gate.RunSites), for gate.evaluate."""

import os
import shlex
import subprocess
import tempfile
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


def run_command(command: list[str], data_dir, options: dict | None = None) -> int:
    """Runs the command to its end with the agent in its JVMs; returns its exit code."""
    try:
        process = subprocess.Popen(command, env=agent_environment(data_dir, options))
    except OSError as e:
        raise UnclosedError(f"cannot run {command[0]}: {e.strerror}") from None
    while True:
        try:
            return process.wait()
        except KeyboardInterrupt:
            # Ctrl-C reached the command too; let it finish exiting, then gather its data.
            continue


def run_recorded(command: list[str], db_path: Path | None = None, label: str | None = None,
                 sample: int | None = None) -> tuple[int, list[RunSites]]:
    """Runs the command with the agent (tracking 1 object in `sample`) in every JVM it starts,
    and keeps one run per JVM in the database at `db_path` (default: a temporary one). Returns
    the command's exit code and the runs."""
    with tempfile.TemporaryDirectory(prefix="unclosed-run-") as scratch:
        data_dir = Path(scratch) / "data"
        data_dir.mkdir()
        exit_code = run_command(command, data_dir, {"sample": sample} if sample else {})
        with Store(db_path or Path(scratch) / "run.db") as store:
            imported = import_data_folder(store, data_dir, label)
            return exit_code, runs_with_sites(store, [jvm["run_id"] for jvm in imported])


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
        with Store(source) as store:
            runs = [r for r in store.runs() if label is None or r["label"] == label]
            run_ids = [store.run(run_id)["id"]] if run_id else [r["id"] for r in runs]
            if not run_ids:
                raise UnclosedError(f"{source} has no runs{' labelled ' + label if label else ''}")
            return runs_with_sites(store, run_ids)


def runs_with_sites(store: Store, run_ids: list[int]) -> list[RunSites]:
    return [(store.run(run_id), store.site_findings(run_id)) for run_id in run_ids]
