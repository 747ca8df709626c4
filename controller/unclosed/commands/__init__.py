"""The `unclosed` command: a click group of thin commands over the library, one module each
(options.py holds what they share). Errors are one line, `unclosed: error: ...`."""

import os
import sqlite3
import sys
import traceback

import click

from ..errors import UnclosedError
from ..store import Store, _sqlite_reason
from .agent_path import agent_path
from .attach import attach
from .baseline import baseline
from .check import check
from .demo import demo
from .detach import detach
from .diff import diff
from .explain import explain
from .import_data import import_data
from .record import record
from .report import report
from .run import run


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
             invoke_without_command=True)
@click.version_option(package_name="unclosed")
@click.pass_context
def cli(ctx):
    """Find native resources a JVM never released: zlib Inflaters and Deflaters, GZIP streams.

    \b
    Try it on a bundled leaky service:   unclosed demo
    Record a running JVM for 10 minutes: unclosed record 12345 --db audit.db --duration 10m
    Then read what it found:             unclosed report audit.db
    """
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


for command in (agent_path, attach, baseline, check, demo, detach, diff, explain, import_data, record, report, run):
    cli.add_command(command)


def main(argv=None) -> int:
    """The console script: errors are one line, `unclosed: error: ...`; exit 1, or 2 for usage.
    Never a traceback, unless UNCLOSED_DEBUG=1 asks for it beside that line."""
    try:
        result = cli.main(args=argv, prog_name="unclosed", standalone_mode=False)
    except click.UsageError as e:
        hint = f" (see `{e.ctx.command_path} --help`)" if e.ctx else ""
        return _fail(f"{e.format_message()}{hint}", 2)
    except click.ClickException as e:
        return _fail(e.format_message(), 1)
    except UnclosedError as e:
        return _fail(str(e), 1)
    except (KeyboardInterrupt, click.Abort):
        return _fail("interrupted", 130)
    except BrokenPipeError:
        # `unclosed report db | head`: the reader has all it wanted; nothing more to flush.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except sqlite3.ProgrammingError as e:  # SQL used wrongly: a bug
        return _internal_error(e)
    except sqlite3.DatabaseError as e:
        # A database that went bad past what opening it checks (a corrupt page, a full disk).
        return _fail(f"{_database_of(e) or 'the database'}: {_sqlite_reason(e)}", 1, e)
    except OSError as e:
        if e.filename is None:
            return _internal_error(e)
        return _fail(f"cannot use {e.filename}: {e.strerror}", 1, e)
    except Exception as e:
        return _internal_error(e)
    return result if isinstance(result, int) else 0


def _internal_error(error: Exception) -> int:
    """The last resort: a bug, said in one line (UNCLOSED_DEBUG=1 adds the traceback)."""
    return _fail(f"internal error: {type(error).__name__}: {error} (please report it)", 1, error)


def _database_of(error: BaseException):
    """The path of the database whose query failed: the Store nearest the error in its traceback
    (all SQL is in store.py, so a Store method is on the way)."""
    tb, found = error.__traceback__, None
    while tb is not None:
        store = tb.tb_frame.f_locals.get("self")
        if isinstance(store, Store):
            found = store.path
        tb = tb.tb_next
    return found


def _fail(message: str, code: int, error: BaseException | None = None) -> int:
    if error is not None and os.environ.get("UNCLOSED_DEBUG") == "1":
        traceback.print_exception(error, file=sys.stderr)
    click.echo(f"unclosed: error: {' '.join(message.splitlines())}", err=True)
    return code
