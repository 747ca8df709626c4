"""`unclosed check`: the gate of `unclosed run`, on a database or a data folder."""

from pathlib import Path

import click

from ..gate import GATE_FAILED, evaluate, parse_fail_on, read_baseline
from ..gate_source import read_source
from ..writers import GATE_WRITERS
from .options import GATE_EXIT_CODES, baseline_option, fail_on_option, format_option, output_option, output_to


@click.command(epilog=GATE_EXIT_CODES)
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@fail_on_option()
@baseline_option
@format_option(GATE_WRITERS, "junit: JUnit XML, one test case per failing site.")
@output_option("Write here, not stdout.")
@click.option("--run", "run_id", type=click.IntRange(min=1), help="Only this run of the database.")
@click.option("--label", help="Only the runs with this label.")
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
              help="With a data folder: import it into this database (default: a temporary one).")
def check(source, fail_on, baseline_path, fmt, output_path, run_id, label, db_path):
    """Apply the gate of `unclosed run` to a database or a data folder.

    SOURCE is a database (`record`, `run --db`), whose runs are all judged unless --run or
    --label says otherwise, or a folder written by agents started with
    `-javaagent:unclosed-agent.jar=data=DIR` (build tools' test JVMs).

    \b
    Examples: unclosed check build/unclosed --fail-on zlib
              unclosed check leaks.db --baseline unclosed-baseline.json --format junit -o leaks.xml
    """
    selectors = parse_fail_on(fail_on)
    baseline = read_baseline(baseline_path) if baseline_path else None
    result = evaluate(read_source(source, db_path, run_id, label), selectors, baseline)
    with output_to(output_path) as out:
        GATE_WRITERS[fmt](result, selectors, out)
    return 0 if result.passed else GATE_FAILED
