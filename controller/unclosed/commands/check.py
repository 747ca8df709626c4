"""`unclosed check`: the gate of `unclosed run`, on databases or data folders."""

from pathlib import Path

import click

from ..gate import GATE_FAILED, evaluate, parse_fail_on, read_baseline
from ..gate_source import read_sources
from ..writers import GATE_WRITERS
from .options import GATE_EXIT_CODES, baseline_option, fail_on_option, format_option, output_option, output_to

allow_incomplete_option = click.option(
    "--allow-incomplete", is_flag=True,
    help="Judge a JVM that did not exit normally (killed, or gone without its exit data) on what it wrote, "
         "its leaks, instead of failing the gate.")


@click.command(epilog=GATE_EXIT_CODES)
@click.argument("sources", metavar="SOURCE...", nargs=-1, required=True,
                type=click.Path(exists=True, path_type=Path))
@fail_on_option()
@baseline_option
@allow_incomplete_option
@format_option(GATE_WRITERS, "junit: JUnit XML, one test case per failing finding and per problem with the data.")
@output_option("Write here, not stdout.")
@click.option("--run", "run_id", type=click.IntRange(min=1), help="Only this run of the database (one SOURCE).")
@click.option("--label", help="Only the runs with this label.")
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
              help="With data folders: import them into this database (default: a temporary one).")
def check(sources, fail_on, baseline_path, allow_incomplete, fmt, output_path, run_id, label, db_path):
    """Apply the gate of `unclosed run` to databases or data folders.

    Each SOURCE is a database (`record`, `run --db`), whose runs are all judged unless --run or
    --label says otherwise, or a folder written by agents started with
    `-javaagent:unclosed-agent.jar=data=DIR` (build tools' test JVMs). Several SOURCEs (a fleet:
    one per host or JVM) are judged as one: findings merge by kind and culprit method, and each
    says in how many sources and JVMs it was seen, those seen in the most first.

    The gate fails closed: a JVM whose data ends without its exit record (killed, or gone) fails
    it unless still running here or --allow-incomplete; so do sites of an unknown kind, and
    objects the agent could not track or instrument.

    \b
    Examples: unclosed check build/unclosed --fail-on zlib
              unclosed check leaks.db --baseline unclosed-baseline.json --format junit -o leaks.xml
              unclosed check host1.db host2.db host3.db
    """
    if run_id and len(sources) > 1:
        raise click.UsageError("--run names a run of one database: give one SOURCE")
    selectors = parse_fail_on(fail_on)
    baseline = read_baseline(baseline_path) if baseline_path else None
    result = evaluate(read_sources(list(sources), db_path, run_id, label), selectors, baseline, allow_incomplete)
    with output_to(output_path) as out:
        GATE_WRITERS[fmt](result, selectors, out)
    return 0 if result.passed else GATE_FAILED
