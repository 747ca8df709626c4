"""What several commands share: their options and argument types, declared once, and where a
command writes its output."""

import sys
from contextlib import contextmanager
from pathlib import Path

import click

from ..gate import GATE_FAILED
from ..units import parse_duration

GATE_EXIT_CODES = f"""
    \b
    Exit codes: 0 the gate passed; {GATE_FAILED} a --fail-on kind leaked (reclaimed by the GC
    unreleased) or was still held when its JVM exited; 1 an error; 2 a usage error."""


class Duration(click.ParamType):
    """`90s`, `10m`, `1h`, `1.5h` or plain seconds (`30`)."""

    name = "DURATION"

    def convert(self, value, param, ctx):
        if isinstance(value, (int, float)):
            return float(value)
        try:
            return parse_duration(str(value))
        except ValueError as e:
            self.fail(str(e), param, ctx)


pid_argument = click.argument("pid", type=click.IntRange(min=1))

baseline_option = click.option(
    "--baseline", "baseline_path", type=click.Path(dir_okay=False, path_type=Path),
    help="Sites listed in this file (from `unclosed baseline`) do not fail the gate.")


def format_option(writers: dict, help: str):
    """--format, one of the writers of a result (writers.py), text by default."""
    return click.option("--format", "fmt", type=click.Choice(list(writers)), default="text", show_default=True,
                        help=help)


def output_option(help: str = "Write here instead of stdout.", required: bool = False):
    return click.option("-o", "--output", "output_path", type=click.Path(dir_okay=False, path_type=Path),
                        required=required, help=help)


def sample_option(track: str = "Track 1 object in N"):
    return click.option("--sample", type=click.IntRange(min=1), default=None,
                        help=f"{track} (cheaper; a site that leaks again and again is still found).")


def fail_on_option(help: str = "Families or kinds that fail the gate, comma separated: zlib, GZIPOutputStream, ..."):
    return click.option("--fail-on", default="zlib", show_default=True, help=help)


@contextmanager
def output_to(path: Path | None):
    """The file at `path`, or stdout, flushed here so that a closed pipe (`| head`) is seen now."""
    if path:
        with open(path, "w", encoding="utf-8") as file:
            yield file
        return
    try:
        yield sys.stdout
    finally:
        sys.stdout.flush()
