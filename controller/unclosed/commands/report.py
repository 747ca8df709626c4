"""`unclosed report`: the creation sites of a recorded run, worst first."""

from pathlib import Path

import click

from ..collapsed import VALUES as COLLAPSED_VALUES
from ..store import Store
from ..writers import REPORT_WRITERS, write_report
from .options import format_option, output_option, output_to


@click.command()
@click.argument("db_path", metavar="DB", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@format_option(REPORT_WRITERS, "json is a stable contract for scripts and CI; html one self-contained page (sites, "
               "flame graph, timeline); collapsed folded stacks for flamegraph.pl or speedscope.")
@click.option("--kind", "kinds", multiple=True,
              help="Only this tracked class, e.g. GZIPOutputStream or java.util.zip.Inflater (repeatable).")
@click.option("--family", "families", multiple=True,
              help="Only this family: zlib, direct, actor or a rules file's (repeatable).")
@click.option("--run", "run_id", type=click.IntRange(min=1), help="The run to report (default: the latest).")
@click.option("--all", "include_clean", is_flag=True, help="Also list sites that released everything.")
@output_option()
@click.option("--value", type=click.Choice(list(COLLAPSED_VALUES)), default="bytes", show_default=True,
              help="What a collapsed stack counts: native bytes leaked + held, or one of them, or objects.")
def report(db_path, fmt, kinds, families, run_id, include_clean, output_path, value):
    """Show the creation sites of a recorded run, worst first.

    A site is the stack that created objects; it is listed when some of its objects leaked (the
    GC reclaimed them unreleased) or are still held (open) at the run's last drain.

    \b
    Examples: unclosed report audit.db
              unclosed report audit.db --format json --family zlib > leaks.json
              unclosed report audit.db --format html -o report.html
              unclosed report audit.db --format collapsed --value leaked > leaks.folded
    """
    with Store(db_path, readonly=True) as store, output_to(output_path) as out:
        write_report(store, out, fmt, run_id, list(kinds), list(families), include_clean, value)
