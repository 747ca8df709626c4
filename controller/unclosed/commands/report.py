"""`unclosed report`: what a recorded run left unreleased, as findings (or sites), worst first."""

import tempfile
from pathlib import Path

import click

from ..collapsed import VALUES as COLLAPSED_VALUES
from ..report import read_fleet, read_folder
from ..store import Store
from ..writers import DRAWS_TIMELINES, FLEET_WRITERS, REPORT_WRITERS, write_report
from .options import format_option, output_option, output_to


@click.command()
@click.argument("sources", metavar="SOURCE...", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@format_option(REPORT_WRITERS, "json is a stable contract for scripts and CI; html one self-contained page (sites, "
               "flame graph, timeline); collapsed folded stacks for flamegraph.pl or speedscope.")
@click.option("--kind", "kinds", multiple=True,
              help="Only this tracked class, e.g. GZIPOutputStream or java.util.zip.Inflater (repeatable).")
@click.option("--family", "families", multiple=True,
              help="Only this family: zlib, direct, actor or a rules file's (repeatable).")
@click.option("--run", "run_id", type=click.IntRange(min=1),
              help="The run to report (default: every JVM of the latest batch: one record, one import, one run).")
@click.option("--by", type=click.Choice(["finding", "site"]), default="finding", show_default=True,
              help="What text and html list: findings (a kind and the line that forgot), or every creation site.")
@click.option("--all", "include_clean", is_flag=True,
              help="Also list what released everything, and the objects in flight.")
@output_option()
@click.option("--value", type=click.Choice(list(COLLAPSED_VALUES)), default="bytes", show_default=True,
              help="What a collapsed stack counts: native bytes leaked + held, or one of them, or objects.")
def report(sources, fmt, kinds, families, run_id, by, include_clean, output_path, value):
    """Show what recorded JVMs left unreleased: findings, worst first.

    A finding is a kind of resource and its culprit, the first line of your code on the stacks
    that created objects some of which leaked (the GC reclaimed them unreleased) or are still
    held (open) at the last drain; objects younger than a drain interval are in flight, not
    held. Each finding shows its counts, the tests that created its objects, its most frequent
    path, and how many more paths reach the culprit. What existed before tracking began is
    reported apart. By default the report covers every JVM of the latest batch (a build's).

    SOURCE is a database (`record`, `run --db`, `import`) or a data folder (agents started
    with data=DIR). Several sources are a fleet (a database or folder per host): their findings
    merged, those seen in the most sources first (text or json).

    \b
    Examples: unclosed report audit.db
              unclosed report audit.db --by site
              unclosed report audit.db --format json --family zlib > leaks.json
              unclosed report audit.db --format html -o report.html
              unclosed report audit.db --format collapsed --value leaked > leaks.folded
              unclosed report build/unclosed
              unclosed report host-a.db host-b.db host-c.db
    """
    if len(sources) > 1:
        if fmt not in FLEET_WRITERS or run_id is not None or by != "finding":
            raise click.UsageError("several sources (a fleet) are reported as text or json, by finding, without --run")
        fleet = read_fleet(list(sources), list(kinds), list(families), include_clean)
        with output_to(output_path) as out:
            FLEET_WRITERS[fmt](fleet, out)
        return
    source = sources[0]
    if source.is_dir():
        with tempfile.TemporaryDirectory(prefix="unclosed-report-") as scratch:
            found = read_folder(source, Path(scratch), run_id=run_id, kinds=list(kinds), families=list(families),
                                include_clean=include_clean, value=value, timeline=fmt in DRAWS_TIMELINES, by=by)
        with output_to(output_path) as out:
            REPORT_WRITERS[fmt](found, out)
        return
    with Store(source, readonly=True) as store, output_to(output_path) as out:
        write_report(store, out, fmt, run_id, list(kinds), list(families), include_clean, value, by)
