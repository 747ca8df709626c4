"""`unclosed run`: a command with the agent in every JVM it starts, then the gate on what they
left unreleased."""

import sys
from pathlib import Path

import click

from ..gate import GATE_FAILED, evaluate, parse_fail_on, read_baseline
from ..gate_source import run_recorded
from ..writers import GATE_WRITERS
from .options import GATE_EXIT_CODES, baseline_option, fail_on_option, output_to, sample_option


@click.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
               epilog=GATE_EXIT_CODES)
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Keep one run per JVM in this database (default: a temporary one).")
@fail_on_option()
@click.option("--label", help="A name for these runs, shown in reports (e.g. the version).")
@baseline_option
@click.option("--junit", "junit_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the result as JUnit XML here, one test case per failing site.")
@sample_option("Track 1 object in N in each JVM")
def run(command, db_path, fail_on, label, baseline_path, junit_path, sample):
    """Run COMMAND with the agent in every JVM it starts, then gate on what they left unreleased.

    The agent goes into JAVA_TOOL_OPTIONS (after what is there already), so every JVM the
    command starts records itself: a `java -jar`, `gradle test` with its daemon and test
    workers, `mvn verify` with its forks. Each JVM writes its data as it goes and at exit;
    each becomes one run in the database. A JVM killed hard keeps what it wrote before and
    its run is marked incomplete. Exits with the command's own exit code when it fails.
    SIGINT or SIGTERM (Ctrl-C, a CI timeout) is passed on to the command and its JVMs; after
    10 s whatever is left is killed; the verdict on what was recorded is printed, and the exit
    code is the command's (130 or 143 when the signal ended it).

    \b
    Examples: unclosed run -- java -jar app.jar --selftest
              unclosed run --db leaks.db --junit build/unclosed.xml -- gradle test
    """
    selectors = parse_fail_on(fail_on)
    baseline = read_baseline(baseline_path) if baseline_path else None
    ended, runs = run_recorded(list(command), db_path, label, sample)
    exit_code = ended.exit_code
    result = evaluate(runs, selectors, baseline)
    if ended.stopped_by:
        click.echo(f"unclosed: {ended.stopped_by} received: passed on to {command[0]} and its JVMs, which stopped; "
                   "the verdict below covers what they recorded until then", err=True)
    click.echo(f"unclosed: {command[0]} exited {exit_code}; {len(runs)} JVM(s) recorded"
               f"{' in ' + str(db_path) if db_path else ''}", err=True)
    GATE_WRITERS["text"](result, selectors, sys.stderr)
    if junit_path:
        with output_to(junit_path) as out:
            GATE_WRITERS["junit"](result, selectors, out)
    if exit_code != 0:
        return exit_code
    return 0 if result.passed else GATE_FAILED
