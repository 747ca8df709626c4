"""The `unclosed` command: a thin layer over the library (attach, record, report, detach, demo)."""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import click

from .attach import agent_dir_of, attach_agent
from .channel import AgentChannel
from .errors import UnclosedError
from .record import record as record_run
from .report import write_report
from .store import Store

DEMO_SOURCE = Path(__file__).parent / "demo" / "LeakyService.java"
DEMO_READY_S = 60  # compiling the source takes a few seconds on a busy machine


class Duration(click.ParamType):
    """`90s`, `10m`, `1h`, `1.5h` or plain seconds (`30`)."""

    name = "DURATION"
    UNITS = {"": 1, "s": 1, "m": 60, "h": 3600}

    def convert(self, value, param, ctx):
        if isinstance(value, (int, float)):
            return float(value)
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", str(value))
        if not match or float(match[1]) <= 0:
            self.fail(f"{value!r} is not a duration such as 90s, 10m, 1h or 30 (seconds)", param, ctx)
        return float(match[1]) * self.UNITS[match[2]]


PID = click.IntRange(min=1)


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


@cli.command()
@click.argument("pid", type=PID)
@click.option("--dir", "agent_dir", type=click.Path(file_okay=False, path_type=Path),
              help="The agent's directory (default /tmp/unclosed-PID).")
def attach(pid, agent_dir):
    """Load the agent into the running JVM PID and print its directory.

    Tracking starts now: objects created before are not known. `record` attaches by itself;
    use this to start tracking early, and `record` later.

    \b
    Example:  unclosed attach 12345
    """
    click.echo(attach_agent(pid, {"dir": str(agent_dir)} if agent_dir else None))


@cli.command()
@click.argument("pid", type=PID)
@click.option("--db", "db_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The SQLite database to add the run to (created if missing).")
@click.option("--duration", type=Duration(), default=None,
              help="How long to record: 90s, 10m, 1h or seconds (default: until Ctrl-C or the JVM exits).")
@click.option("--interval", type=Duration(), default="5s", show_default=True,
              help="How often to drain the agent's data into the database.")
@click.option("--label", help="A name for this run, shown in reports.")
def record(pid, db_path, duration, interval, label):
    """Record what JVM PID opens and never releases into a database.

    Attaches the agent if it is not loaded yet, then drains what it tracked into the database
    every interval until the duration is over or Ctrl-C (both end with one last drain: the run
    is complete). If the JVM exits first, what was drained is kept, the run is marked
    incomplete, and the exit code is still 0. Each record adds a new run to the database;
    nothing is overwritten. The agent stays loaded afterwards (`unclosed detach PID` removes it).

    \b
    Example:  unclosed record 12345 --db audit.db --duration 10m --label "after deploy"
    """
    with Store(db_path) as store, _stop_on_signals() as stop:
        result = record_run(pid, store, duration, interval, label, stop, progress=sys.stderr)
    _say_recorded(result, db_path, pid)


@cli.command()
@click.argument("db_path", metavar="DB", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="json is a stable contract for scripts and CI.")
@click.option("--kind", "kinds", multiple=True,
              help="Only this tracked class, e.g. GZIPOutputStream or java.util.zip.Inflater (repeatable).")
@click.option("--family", "families", multiple=True, help="Only this family, e.g. zlib (repeatable).")
@click.option("--run", "run_id", type=click.IntRange(min=1), help="The run to report (default: the latest).")
@click.option("--all", "include_clean", is_flag=True, help="Also list sites that released everything.")
def report(db_path, fmt, kinds, families, run_id, include_clean):
    """Show the creation sites of a recorded run, worst first.

    A site is the stack that created objects; it is listed when some of its objects leaked (the
    GC reclaimed them unreleased) or are still held (open) at the run's last drain.

    \b
    Examples: unclosed report audit.db
              unclosed report audit.db --format json --family zlib > leaks.json
    """
    with Store(db_path) as store:
        write_report(store, sys.stdout, fmt, run_id, list(kinds), list(families), include_clean)


@cli.command()
@click.argument("pid", type=PID)
def detach(pid):
    """Remove the agent from JVM PID: its classes are restored and tracking stops.

    \b
    Example:  unclosed detach 12345
    """
    agent_dir = agent_dir_of(pid)
    if agent_dir is None:
        raise UnclosedError(f"JVM {pid} runs no unclosed agent")
    AgentChannel.connect(agent_dir).detach()
    click.echo(f"detached from JVM {pid}")


@cli.command()
@click.option("--seconds", type=Duration(), default="5", show_default=True, help="How long to record.")
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Keep the run in this database (default: a temporary one).")
def demo(seconds, db_path):
    """Run a small leaky service, record it, and show the report.

    The service (LeakyService.java, bundled) logs each failed request through an exception
    logger that gzips the report and never closes its GZIPOutputStream. Needs a JDK 11+ (JAVA_HOME
    or `java` on PATH) to run it.

    \b
    Example:  unclosed demo --seconds 10
    """
    with tempfile.TemporaryDirectory(prefix="unclosed-demo-") as scratch:
        db_path = db_path or Path(scratch) / "demo.db"
        with _demo_service(Path(scratch)) as pid, Store(db_path) as store, _stop_on_signals() as stop:
            click.echo(f"LeakyService runs as pid {pid}; recording it for {seconds:g} s", err=True)
            result = record_run(pid, store, seconds, min(1.0, seconds), "demo", stop, progress=sys.stderr)
            click.echo(err=True)
            write_report(store, sys.stdout, "text", result["run_id"])


class _demo_service:
    """Starts LeakyService with the JDK's source launcher; stops it on leaving."""

    def __init__(self, scratch: Path):
        self.log = scratch / "service.log"

    def __enter__(self) -> int:
        java = _java()
        self.stderr = open(self.log, "w")
        self.process = subprocess.Popen([java, str(DEMO_SOURCE)], stdout=subprocess.PIPE, stderr=self.stderr,
                                        text=True, start_new_session=True)  # Ctrl-C is for us, not it
        try:
            ready = _read_line(self.process.stdout, DEMO_READY_S)
            if not ready.startswith("LeakyService ready"):
                self.process.kill()
                self.process.wait()
                tail = (self.log.read_text().strip().splitlines() or ["(no output)"])[-1]
                raise UnclosedError(f"the demo service did not start with {java}: {tail}")
        except BaseException:
            self.__exit__()
            raise
        return self.process.pid

    def __exit__(self, *exc):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()
        self.stderr.close()


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if not java or not os.access(java, os.X_OK):
        raise UnclosedError("no `java` to run the demo: set JAVA_HOME to a JDK 11+ or put `java` on PATH")
    return java


def _read_line(stream, timeout: float) -> str:
    """The first line of `stream`, or "" if none comes within `timeout` seconds."""
    lines = []
    reader = threading.Thread(target=lambda: lines.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return lines[0] if lines else ""


class _stop_on_signals:
    """Ctrl-C or SIGTERM asks a recording to stop after one last drain; a second Ctrl-C
    interrupts at once."""

    def __enter__(self) -> threading.Event:
        self.stop = threading.Event()
        self.previous = {sig: signal.signal(sig, self._handle) for sig in (signal.SIGINT, signal.SIGTERM)}
        return self.stop

    def _handle(self, signum, frame):
        click.echo("\nstopping after one last drain (Ctrl-C again to stop at once)", err=True)
        self.stop.set()
        signal.signal(signum, self.previous[signum])

    def __exit__(self, *exc):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


def _say_recorded(result: dict, db_path: Path, pid: int) -> None:
    if result["status"] == "incomplete":
        click.echo(f"JVM {pid} exited; kept what was drained before.", err=True)
    click.echo(f"run {result['run_id']} ({result['status']}, {result['drains']} drains) is in {db_path}: "
               f"unclosed report {db_path}", err=True)


def main(argv=None) -> int:
    """The console script: errors are one line, `unclosed: error: ...`; exit 1, or 2 for usage."""
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
    return result if isinstance(result, int) else 0


def _fail(message: str, code: int) -> int:
    click.echo(f"unclosed: error: {message}", err=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
