"""`unclosed baseline`: today's failing sites, which the gate excuses from then on."""

from pathlib import Path

import click

from ..gate import parse_fail_on, write_baseline
from ..gate_source import read_source
from .options import fail_on_option, output_option


@click.command()
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@output_option("The baseline file to write (JSON; commit it).", required=True)
@fail_on_option("Families or kinds the gate judges.")
@click.option("--run", "run_id", type=click.IntRange(min=1), help="Only this run of the database.")
@click.option("--label", help="Only the runs with this label.")
def baseline(source, output_path, fail_on, run_id, label):
    """Write today's failing sites to a baseline, so that only new leak sites fail the gate.

    Sites are matched by the leaking kind and the class and method of the culprit frame, not
    its line number: a leak that moves within its method stays excused; one in another method
    or class is new. SOURCE is a database or a data folder, as for `check`.

    \b
    Example:  unclosed baseline build/unclosed -o unclosed-baseline.json
              unclosed check build/unclosed --baseline unclosed-baseline.json
    """
    count = write_baseline(read_source(source, None, run_id, label), parse_fail_on(fail_on), output_path)
    click.echo(f"wrote {count} site(s) to {output_path}", err=True)
