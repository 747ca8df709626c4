"""`unclosed import`: a data folder (agents started with data=DIR, or by the agent jar's own
launcher) into a database, one run per JVM, for `report`, `diff`, `check` and `baseline`."""

from pathlib import Path

import click

from ..datafiles import jvm_series
from ..drainfile import read_drain
from ..errors import UnclosedError
from ..store import Store


@click.command("import")
@click.argument("folder", metavar="DATA_DIR", type=click.Path(exists=True, path_type=Path))
@click.option("--db", "db_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The SQLite database to add the runs to (created if missing).")
@click.option("--label", help="A name for the runs this import adds, shown in reports.")
def import_data(folder, db_path, label):
    """Import a data folder into a database: one run per JVM that wrote into it.

    DATA_DIR is the folder of the agent's data= option: `-javaagent:unclosed-agent.jar=data=DIR`,
    or `java -jar unclosed-agent.jar PID data=DIR` inside a container, copied out (`kubectl cp`).
    Prints a line per JVM: its run, its pid (as the JVM saw itself), its main class, and whether
    it exited (a JVM that did not, detached, killed or still running, makes an incomplete run).
    Importing a later copy of the same folder again adds what is new to the same runs.

    \b
    Example:  kubectl cp shop-7d9f/app:/tmp/leaks ./leaks
              unclosed import ./leaks --db leaks.db --label shop
              unclosed report leaks.db
    """
    series = jvm_series(folder)
    if not series:
        raise UnclosedError(f"{folder} holds no data files (unclosed-PID-SESSION-SEQ.tsv): is it the folder "
                            f"the agent's data= option named?")
    for files in series.values():
        for path in files:  # all of them readable and whole before anything is stored: no half import
            read_drain(path)
    imported = []
    with Store(db_path) as store:
        runs = {run["session"]: run for run in store.runs() if run["session"]}
        for (pid, session), files in series.items():
            imported.append(_import_jvm(store, pid, session, files, label, runs.get(session)))
    for line in imported:
        click.echo(line[1])
    ids = sorted({run_id for run_id, _ in imported})
    hint = f"unclosed report {db_path}" + (f" --run {ids[0]}" if len(ids) == 1 else " --run N")
    click.echo(f"{len(ids)} run{'s' if len(ids) != 1 else ''} in {db_path}: {hint}", err=True)


def _import_jvm(store: Store, pid: int, session: str, files: list[Path], label, earlier: dict | None):
    """One JVM's series of files into a new run, or into the run an earlier import of it made
    (the store keeps each drain of a session once); returns (run id, the line to print)."""
    run_id = earlier["id"] if earlier else store.begin_run({"session": session}, pid, label)
    stored = sum(store.ingest_drain(run_id, path, time_ms=int(path.stat().st_mtime * 1000))["stored"]
                 for path in files)
    run = store.run(run_id)
    exited = run["exit_ms"] is not None  # its last file ends with a Z record: the JVM itself ended
    store.end_run(run_id, "complete" if exited else "incomplete")
    state = "exited" if exited else "did not exit (still running, detached or killed): incomplete"
    files_said = f"{len(files)} data file{'s' if len(files) != 1 else ''}"
    if earlier:
        files_said = f"{stored} new of {files_said} (imported before)"
    return run_id, f"run {run_id}: JVM {pid} ({run['main_class'] or 'main class unknown'}), {state}, {files_said}"
