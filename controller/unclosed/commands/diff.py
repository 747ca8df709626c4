"""`unclosed diff`: the findings of two sides, before and after a release; a side may be a fleet."""

import click

from ..diff import NEW_FINDINGS_FOUND, TOLERANCE, SourceRef, read_diff
from ..errors import UnclosedError
from ..signature import MIN_SCORE
from ..writers import DIFF_WRITERS, DRAWS_TIMELINES
from .options import format_option, output_option, output_to

EXIT_CODES = f"""
    \b
    Exit codes: 0 compared (with --fail-on-new: no new finding); {NEW_FINDINGS_FOUND} --fail-on-new and NEW
    has findings OLD had not; 1 an error; 2 a usage error."""


@click.command(epilog=EXIT_CODES)
@click.argument("specs", metavar="[OLD NEW]", nargs=-1)
@click.option("--old", "more_old", multiple=True, metavar="SOURCE",
              help="A source of the OLD side (repeatable: a fleet, one database or data folder per host or JVM).")
@click.option("--new", "more_new", multiple=True, metavar="SOURCE", help="A source of the NEW side (repeatable).")
@format_option(DIFF_WRITERS, "json lists fixed, new, changed, unchanged (README); html shows both runs side by side "
               "(one run on each side).")
@output_option()
@click.option("--fail-on-new", is_flag=True, help=f"Exit {NEW_FINDINGS_FOUND} when NEW has findings OLD had not: a release gate.")
@click.option("--per", multiple=True, metavar="[SIDE=]UNITS",
              help="Workload units each side served (requests, jobs), to compare figures per unit: "
                   "--per 10000 (both sides), --per old=10000 --per new=12000, or by label --per 2.1.8=10000.")
@click.option("--unit", default="unit", show_default=True, help="What one workload unit is, e.g. request.")
@click.option("--min-score", type=click.FloatRange(0, 1), default=MIN_SCORE, show_default=True,
              help="The least similarity (0-1) that matches findings whose culprit methods differ.")
@click.option("--tolerance", type=click.FloatRange(min=0), default=TOLERANCE * 100, show_default=True,
              help="Percent by which a still-leaking finding's figures may move and count as unchanged.")
def diff(specs, more_old, more_new, fmt, output_path, fail_on_new, per, unit, min_score, tolerance):
    """Compare the findings of two sides, before and after a release: fixed, new, changed, unchanged.

    OLD and NEW name runs: DB (its latest run), DB:ID (run ID), DB:LABEL (the latest run
    recorded with --label LABEL; DB:label=LABEL for a label of digits), or a data folder (all its
    JVMs); NEW may be :ID or :LABEL, a run of OLD's database. --old and --new add sources to a
    side (or make it, without OLD NEW): a fleet, one per host or JVM, whose findings merge.

    A finding (a kind and the line that forgot) matches by its kind and its culprit's class and
    method, line numbers ignored; then by the culprit's simple class and method (a package
    shaded or relocated); findings left that leak on both sides match by similarity
    (--min-score).

    \b
    Examples: unclosed diff audit.db:2.1.8 audit.db:2.1.9
              unclosed diff old.db new.db --fail-on-new
              unclosed diff audit.db:2.1.8 :2.1.9 --per 2.1.8=40000 --per 2.1.9=52000 --unit request
              unclosed diff --old h1.db:2.1.8 --old h2.db:2.1.8 --new h1.db:2.1.9 --new h2.db:2.1.9
              unclosed diff audit.db:1 audit.db:2 --format html -o diff.html
    """
    if len(specs) not in (0, 2):
        raise click.UsageError("give OLD and NEW, or sources with --old and --new")
    try:
        old_refs = [SourceRef.parse(text) for text in specs[:1] + more_old]
        if not old_refs:
            raise UnclosedError("no OLD side: give OLD NEW, or --old SOURCE")
        new_refs = [SourceRef.parse(text, other_db=old_refs[0].path) for text in specs[1:] + more_new]
        if not new_refs:
            raise UnclosedError("no NEW side: give OLD NEW, or --new SOURCE")
    except UnclosedError as e:
        raise click.BadParameter(str(e), param_hint="OLD or NEW") from None
    run_diff = read_diff(old_refs, new_refs, per, unit, min_score, tolerance / 100,
                         with_reports=fmt in DRAWS_TIMELINES, timeline=fmt in DRAWS_TIMELINES)
    with output_to(output_path) as out:
        DIFF_WRITERS[fmt](run_diff, out)
    return NEW_FINDINGS_FOUND if fail_on_new and run_diff.document["new"] else 0
