"""`unclosed demo`: a small leaky service, recorded, and its report."""

import sys
import tempfile
from pathlib import Path

import click

from ..demo_service import demo_service
from ..record import record as record_run
from ..record import stop_on_signals
from ..store import Store
from ..writers import write_report
from .options import Duration


@click.command()
@click.option("--seconds", type=Duration(), default="5", show_default=True, help="How long to record.")
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Keep the run in this database (default: a temporary one).")
def demo(seconds, db_path):
    """Run a small leaky service, record it, and show the report.

    The service (LeakyService.java, bundled) logs each failed request through an exception
    logger that gzips the report and never closes its GZIPOutputStream. Needs a JDK 11+ (JAVA_HOME
    or `java` on PATH) to run it.

    \b
    Example:  unclosed demo --seconds 10
    """
    with tempfile.TemporaryDirectory(prefix="unclosed-demo-") as scratch:
        db_path = db_path or Path(scratch) / "demo.db"
        with demo_service(Path(scratch)) as pid, stop_on_signals() as stop:
            click.echo(f"LeakyService runs as pid {pid}; recording it for {seconds:g} s", err=True)
            result = record_run(pid, db_path, seconds, min(1.0, seconds), "demo", stop, progress=sys.stderr)
            click.echo(err=True)
        with Store(db_path, readonly=True) as store:
            write_report(store, sys.stdout, "text", result["run_id"])
