"""`unclosed record`: drain a JVM's agent into a database until told to stop."""

import sys
from pathlib import Path

import click

from ..record import record as record_run
from ..record import stop_on_signals
from .options import Duration, pid_argument, sample_option


@click.command()
@pid_argument
@click.option("--db", "db_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The SQLite database to add the run to (created if missing).")
@click.option("--duration", type=Duration(), default=None,
              help="How long to record: 90s, 10m, 1h or seconds (default: until Ctrl-C or the JVM exits).")
@click.option("--interval", type=Duration(), default="5s", show_default=True,
              help="How often to drain the agent's data into the database.")
@click.option("--label", help="A name for this run, shown in reports.")
@sample_option("When it attaches: track 1 object in N")
def record(pid, db_path, duration, interval, label, sample):
    """Record what JVM PID opens and never releases into a database.

    Attaches the agent if it is not loaded yet, then drains what it tracked into the database
    every interval until the duration is over or Ctrl-C (both end with one last drain: the run
    is complete). If the JVM exits first, the data its agent leaves at exit is taken in too (the
    run is complete); if it is killed, what was drained is kept and the run is marked
    incomplete; the exit code is 0 either way. Each record adds a new run to the database;
    nothing is overwritten; a recording of this database that died (its recorder killed) is
    ended first, with what it left taken in. The database is made once the agent runs. The
    agent stays loaded afterwards (`unclosed detach PID` removes it).

    \b
    Example:  unclosed record 12345 --db audit.db --duration 10m --label "after deploy"
    """
    with stop_on_signals() as stop:
        result = record_run(pid, db_path, duration, interval, label, stop, progress=sys.stderr,
                            agent_options={"sample": sample} if sample else None)
    if result["status"] == "incomplete":
        click.echo(f"JVM {pid} was killed (it left no exit data); kept what was drained before.", err=True)
    click.echo(f"run {result['run_id']} ({result['status']}, {result['drains']} drains) is in {db_path}: "
               f"unclosed report {db_path}", err=True)
