"""`unclosed import`: a data folder (agents started with data=DIR, or by the agent jar's own
launcher) into a database, one run per JVM, for `report`, `diff`, `check` and `baseline`."""

from pathlib import Path

import click

from ..datafiles import checked_series, import_data_folder
from ..errors import UnclosedError
from ..store import Store
from ..units import plural


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
    if not checked_series(folder):  # nothing stored, no database made, unless all of it is whole
        raise UnclosedError(f"{folder} holds no data files (unclosed-PID-SESSION-SEQ.tsv): is it the folder "
                            f"the agent's data= option named?")
    with Store(db_path) as store:
        imported = import_data_folder(store, folder, label)
    for jvm in imported:
        state = "exited" if jvm["exited"] else "did not exit (still running, detached or killed): incomplete"
        files = plural(jvm["files"], "data file")
        if jvm["earlier"]:
            files = f"{jvm['stored']} new of {files} (imported before)"
        click.echo(f"run {jvm['run_id']}: JVM {jvm['pid']} ({jvm['main_class'] or 'main class unknown'}), {state}, {files}")
    ids = sorted({jvm["run_id"] for jvm in imported})
    click.echo(f"{plural(len(ids), 'run')} in {db_path}: unclosed report {db_path}", err=True)
