"""`unclosed diff`: the leak sites of two runs, before and after a release."""

from contextlib import nullcontext

import click

from ..diff import NEW_SITES_FOUND, RunRef, read_diff
from ..errors import UnclosedError
from ..store import Store
from ..writers import DIFF_WRITERS, DRAWS_TIMELINES
from .options import format_option, output_option, output_to

EXIT_CODES = f"""
    \b
    Exit codes: 0 compared (with --fail-on-new: no new leak site); {NEW_SITES_FOUND} --fail-on-new and NEW
    has leak sites OLD did not; 1 an error; 2 a usage error."""


@click.command(epilog=EXIT_CODES)
@click.argument("old_spec", metavar="OLD")
@click.argument("new_spec", metavar="NEW")
@format_option(DIFF_WRITERS, "json lists fixed, new, changed, unchanged (README); html shows both runs side by side.")
@output_option()
@click.option("--fail-on-new", is_flag=True, help=f"Exit {NEW_SITES_FOUND} when NEW has leak sites OLD had not: a release gate.")
@click.option("--per", multiple=True, metavar="[RUN=]UNITS",
              help="Workload units each run served (requests, jobs), to compare figures per unit: "
                   "--per 10000 (both runs), --per old=10000 --per new=12000, or by label --per 2.1.8=10000.")
@click.option("--unit", default="unit", show_default=True, help="What one workload unit is, e.g. request.")
@click.option("--frames", type=click.IntRange(1, 64), default=3, show_default=True,
              help="Frames in a signature: the culprit and its callers.")
@click.option("--min-score", type=click.FloatRange(0, 1), default=0.6, show_default=True,
              help="The least similarity (0-1) that matches sites whose signatures differ.")
@click.option("--tolerance", type=click.FloatRange(min=0), default=10, show_default=True,
              help="Percent by which a still-leaking site's figures may move and count as unchanged.")
def diff(old_spec, new_spec, fmt, output_path, fail_on_new, per, unit, frames, min_score, tolerance):
    """Compare the leak sites of two runs, before and after a release: fixed, new, changed, unchanged.

    OLD and NEW name runs: DB (its latest run), DB:ID (run ID), DB:LABEL (the latest run
    recorded with --label LABEL; DB:label=LABEL for a label of digits); NEW may be :ID or
    :LABEL, a run of OLD's database. Sites match by a signature that survives a release: the
    kind and the frames from the culprit down as SimpleClass.method, without package or line
    number (--frames of them); sites whose signatures differ match by similarity (--min-score).

    \b
    Examples: unclosed diff audit.db:2.1.8 audit.db:2.1.9
              unclosed diff old.db new.db --fail-on-new
              unclosed diff audit.db:2.1.8 :2.1.9 --per 2.1.8=40000 --per 2.1.9=52000 --unit request
              unclosed diff audit.db:1 audit.db:2 --format html -o diff.html
    """
    try:
        old_ref = RunRef.parse(old_spec)
        new_ref = RunRef.parse(new_spec, other_db=old_ref.db)
    except UnclosedError as e:
        raise click.BadParameter(str(e), param_hint="OLD or NEW") from None
    same_db = old_ref.db.resolve() == new_ref.db.resolve()
    with Store(old_ref.db, readonly=True) as old_store, \
            (nullcontext(old_store) if same_db else Store(new_ref.db, readonly=True)) as new_store:
        run_diff = read_diff(old_store, old_ref, new_store, new_ref, per, unit, frames, min_score, tolerance / 100,
                             timeline=fmt in DRAWS_TIMELINES)
    with output_to(output_path) as out:
        DIFF_WRITERS[fmt](run_diff, out)
    return NEW_SITES_FOUND if fail_on_new and run_diff.document["new"] else 0
