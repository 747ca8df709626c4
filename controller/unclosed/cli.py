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
from .datafiles import import_data_folder
from .gate import GATE_FAILED, evaluate, parse_fail_on, read_baseline, write_baseline, write_gate_text, write_junit
from .errors import UnclosedError
from .collapsed import VALUES as COLLAPSED_VALUES
from .diff import NEW_SITES_FOUND, RunRef, diff_runs, write_diff
from .record import record as record_run
from .report import write_report
from .store import Store
from .wrap import run_command

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
@click.option("--rules", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A rules file naming resources of your own to track (see the README).")
@click.option("--sample", type=click.IntRange(min=1), default=None,
              help="Track 1 object in N (cheaper; a site that leaks again and again is still found).")
def attach(pid, agent_dir, rules, sample):
    """Load the agent into the running JVM PID and print its directory.

    Tracking starts now: objects created before are not known. `record` attaches by itself;
    use this to start tracking early, or with your own --rules, and `record` later.

    \b
    Examples: unclosed attach 12345
              unclosed attach 12345 --rules rules.toml
              unclosed attach 12345 --sample 128
    """
    options = {"dir": str(agent_dir)} if agent_dir else {}
    if rules:
        if agent_dir_of(pid) is not None:
            raise UnclosedError(f"JVM {pid} already runs the agent, and its rules stay as they are: "
                                f"`unclosed detach {pid}` first")
        options["rules"] = str(rules.resolve())  # the JVM reads it, from its own working directory
    if sample:
        options["sample"] = sample
    click.echo(attach_agent(pid, options or None))


@cli.command()
@click.argument("pid", type=PID)
@click.option("--db", "db_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The SQLite database to add the run to (created if missing).")
@click.option("--duration", type=Duration(), default=None,
              help="How long to record: 90s, 10m, 1h or seconds (default: until Ctrl-C or the JVM exits).")
@click.option("--interval", type=Duration(), default="5s", show_default=True,
              help="How often to drain the agent's data into the database.")
@click.option("--label", help="A name for this run, shown in reports.")
@click.option("--sample", type=click.IntRange(min=1), default=None,
              help="When it attaches: track 1 object in N (cheaper; a site that leaks again and again is still found).")
def record(pid, db_path, duration, interval, label, sample):
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
        result = record_run(pid, store, duration, interval, label, stop, progress=sys.stderr,
                            agent_options={"sample": sample} if sample else None)
    _say_recorded(result, db_path, pid)


@cli.command()
@click.argument("db_path", metavar="DB", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "html", "collapsed"]), default="text",
              show_default=True, help="json is a stable contract for scripts and CI; html one self-contained "
              "page (sites, flame graph, timeline); collapsed folded stacks for flamegraph.pl or speedscope.")
@click.option("--kind", "kinds", multiple=True,
              help="Only this tracked class, e.g. GZIPOutputStream or java.util.zip.Inflater (repeatable).")
@click.option("--family", "families", multiple=True,
              help="Only this family: zlib, direct, actor or a rules file's (repeatable).")
@click.option("--run", "run_id", type=click.IntRange(min=1), help="The run to report (default: the latest).")
@click.option("--all", "include_clean", is_flag=True, help="Also list sites that released everything.")
@click.option("-o", "--output", "output_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write here instead of stdout.")
@click.option("--value", type=click.Choice(list(COLLAPSED_VALUES)), default="bytes", show_default=True,
              help="What a collapsed stack counts: native bytes leaked + held, or one of them, or objects.")
def report(db_path, fmt, kinds, families, run_id, include_clean, output_path, value):
    """Show the creation sites of a recorded run, worst first.

    A site is the stack that created objects; it is listed when some of its objects leaked (the
    GC reclaimed them unreleased) or are still held (open) at the run's last drain.

    \b
    Examples: unclosed report audit.db
              unclosed report audit.db --format json --family zlib > leaks.json
              unclosed report audit.db --format html -o report.html
              unclosed report audit.db --format collapsed --value leaked > leaks.folded
    """
    with Store(db_path) as store, _output_to(output_path) as out:
        write_report(store, out, fmt, run_id, list(kinds), list(families), include_clean, value)


DIFF_EXIT_CODES = f"""
    \b
    Exit codes: 0 compared (with --fail-on-new: no new leak site); {NEW_SITES_FOUND} --fail-on-new and NEW
    has leak sites OLD did not; 1 an error; 2 a usage error."""


@cli.command(epilog=DIFF_EXIT_CODES)
@click.argument("old_spec", metavar="OLD")
@click.argument("new_spec", metavar="NEW")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "html"]), default="text", show_default=True,
              help="json lists fixed, new, changed, unchanged (README); html shows both runs side by side.")
@click.option("-o", "--output", "output_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write here instead of stdout.")
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
    with Store(old_ref.db) as old_store, (_same(old_store) if same_db else Store(new_ref.db)) as new_store:
        result = diff_runs(old_store, old_ref, new_store, new_ref, per, unit, frames, min_score, tolerance / 100)
        with _output_to(output_path) as out:
            if fmt == "html":
                from .html import write_html_diff
                write_html_diff(result, old_store, new_store, out)
            else:
                write_diff(result, out, fmt)
    return NEW_SITES_FOUND if fail_on_new and result["new"] else 0


class _same:
    """A store used twice: closed by its first `with` only."""

    def __init__(self, store):
        self.store = store

    def __enter__(self):
        return self.store

    def __exit__(self, *exc):
        pass


class _output_to:
    """A file to write to, or stdout."""

    def __init__(self, path: Path | None):
        self.path = path

    def __enter__(self):
        self.file = open(self.path, "w", encoding="utf-8") if self.path else None
        return self.file or sys.stdout

    def __exit__(self, *exc):
        if self.file:
            self.file.close()
        else:
            sys.stdout.flush()


@cli.command()
@click.argument("pid", type=PID)
@click.option("--watch", "interval", type=Duration(), default=None,
              help="Sample again every DURATION (10s, 5m, 1h) until --count or Ctrl-C, then show what grew.")
@click.option("--count", type=click.IntRange(min=1), help="With --watch: how many samples (default: until Ctrl-C).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help='json: one document; with --watch {"samples": [...], "growth": {...}} at the end.')
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Keep each sample in this database (table memory_samples); with an agent loaded, also split "
                   "its held bytes by family (one drain, kept as a run labelled explain).")
@click.option("--attach", "attach_first", is_flag=True,
              help="Load the unclosed agent first when none is loaded (it tracks objects created from now on).")
def explain(pid, interval, count, fmt, db_path, attach_first):
    """Explain where the memory of JVM PID goes: one breakdown of its RSS that adds up.

    The OS view (RSS anon/file/shmem, the memory cgroup and the working set a container metric
    shows), the JVM view through the JVM's own jcmd (heap, metaspace, code cache, thread stacks,
    direct buffers, NMT categories when -XX:NativeMemoryTracking is on) and unclosed's view
    (native bytes of tracked objects still held, when the agent is loaded). What nobody accounts
    for is the remainder, with hints: glibc malloc arenas, page cache, NMT off.

    \b
    Examples: unclosed explain 12345
              unclosed explain 12345 --attach --format json > memory.json
              unclosed explain 12345 --watch 10m --db memory.db    (Ctrl-C: what grew)
    """
    import json

    from . import explain as memory

    if count is not None and interval is None:
        raise click.UsageError("--count needs --watch")
    store = Store(db_path) if db_path else None
    try:
        if interval is None:
            report = memory.explain_once(pid, attach=attach_first, store=store)
            click.echo(json.dumps(report, indent=2) if fmt == "json" else memory.render_text(report), nl=fmt == "json")
            return

        def show(report, previous):
            if fmt == "text":
                click.echo(memory.render_text(report) if previous is None else memory.sample_line(report, previous))
                if previous is None:
                    click.echo(f"sampling every {interval:g} s" + (f", {count} samples" if count else ", Ctrl-C to stop"))
                    click.echo(memory.sample_line(report, None))

        samples = memory.watch(pid, interval, count, attach=attach_first, store=store, on_sample=show)
        if fmt == "json":
            click.echo(json.dumps({"samples": samples, "growth": memory.growth(samples)}, indent=2))
        else:
            click.echo()
            click.echo(memory.render_growth(samples), nl=False)
    finally:
        if store is not None:
            store.close()


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


GATE_HELP = f"""
    \b
    Exit codes: 0 the gate passed; {GATE_FAILED} a --fail-on kind leaked (reclaimed by the GC
    unreleased) or was still held when its JVM exited; 1 an error; 2 a usage error."""


@cli.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
             epilog=GATE_HELP)
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Keep one run per JVM in this database (default: a temporary one).")
@click.option("--fail-on", default="zlib", show_default=True,
              help="Families or kinds that fail the gate, comma separated: zlib, GZIPOutputStream, ...")
@click.option("--label", help="A name for these runs, shown in reports (e.g. the version).")
@click.option("--baseline", "baseline_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Sites listed in this file (from `unclosed baseline`) do not fail the gate.")
@click.option("--junit", "junit_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the result as JUnit XML here, one test case per failing site.")
@click.option("--sample", type=click.IntRange(min=1), default=None,
              help="Track 1 object in N in each JVM (cheaper; a site that leaks again and again is still found).")
def run(command, db_path, fail_on, label, baseline_path, junit_path, sample):
    """Run COMMAND with the agent in every JVM it starts, then gate on what they left unreleased.

    The agent goes into JAVA_TOOL_OPTIONS (after what is there already), so every JVM the
    command starts records itself: a `java -jar`, `gradle test` with its daemon and test
    workers, `mvn verify` with its forks. Each JVM writes its data as it goes and at exit;
    each becomes one run in the database. A JVM killed hard keeps what it wrote before and
    its run is marked incomplete. Exits with the command's own exit code when it fails.

    \b
    Examples: unclosed run -- java -jar app.jar --selftest
              unclosed run --db leaks.db --junit build/unclosed.xml -- gradle test
    """
    selectors = parse_fail_on(fail_on)
    baseline = read_baseline(baseline_path) if baseline_path else None
    with tempfile.TemporaryDirectory(prefix="unclosed-run-") as scratch:
        data_dir = Path(scratch) / "data"
        data_dir.mkdir()
        exit_code = run_command(list(command), data_dir, {"sample": sample} if sample else {})
        with Store(db_path or Path(scratch) / "run.db") as store:
            imported = import_data_folder(store, data_dir, label)
            result = evaluate(store, [jvm["run_id"] for jvm in imported], selectors, baseline)
    click.echo(f"unclosed: {command[0]} exited {exit_code}; {len(imported)} JVM(s) recorded"
               f"{' in ' + str(db_path) if db_path else ''}", err=True)
    write_gate_text(result, selectors, sys.stderr)
    if junit_path:
        with open(junit_path, "w") as out:
            write_junit(result, selectors, out)
    if exit_code != 0:
        return exit_code
    return 0 if result.passed else GATE_FAILED


@cli.command(epilog=GATE_HELP)
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--fail-on", default="zlib", show_default=True,
              help="Families or kinds that fail the gate, comma separated: zlib, GZIPOutputStream, ...")
@click.option("--baseline", "baseline_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Sites listed in this file (from `unclosed baseline`) do not fail the gate.")
@click.option("--format", "fmt", type=click.Choice(["text", "junit"]), default="text", show_default=True,
              help="junit: JUnit XML, one test case per failing site.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here, not stdout.")
@click.option("--run", "run_id", type=click.IntRange(min=1), help="Only this run of the database.")
@click.option("--label", help="Only the runs with this label.")
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
              help="With a data folder: import it into this database (default: a temporary one).")
def check(source, fail_on, baseline_path, fmt, output, run_id, label, db_path):
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
    with _gate_source(source, db_path, run_id, label) as (store, run_ids):
        result = evaluate(store, run_ids, selectors, baseline)
    with (open(output, "w") if output else _stdout()) as out:
        (write_junit if fmt == "junit" else write_gate_text)(result, selectors, out)
    return 0 if result.passed else GATE_FAILED


@cli.command()
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The baseline file to write (JSON; commit it).")
@click.option("--fail-on", default="zlib", show_default=True, help="Families or kinds the gate judges.")
@click.option("--run", "run_id", type=click.IntRange(min=1), help="Only this run of the database.")
@click.option("--label", help="Only the runs with this label.")
def baseline(source, output, fail_on, run_id, label):
    """Write today's failing sites to a baseline, so that only new leak sites fail the gate.

    Sites are matched by the leaking kind and the class and method of the culprit frame, not
    its line number: a leak that moves within its method stays excused; one in another method
    or class is new. SOURCE is a database or a data folder, as for `check`.

    \b
    Example:  unclosed baseline build/unclosed -o unclosed-baseline.json
              unclosed check build/unclosed --baseline unclosed-baseline.json
    """
    with _gate_source(source, None, run_id, label) as (store, run_ids):
        count = write_baseline(store, run_ids, parse_fail_on(fail_on), output)
    click.echo(f"wrote {count} site(s) to {output}", err=True)


@cli.command("agent-path")
def agent_path():
    """Print where the agent jar is, for build files: -javaagent:$(unclosed agent-path)=...

    \b
    Example:  java -javaagent:$(unclosed agent-path)=data=build/unclosed,report=stderr -jar app.jar
    """
    from .attach import agent_jar
    click.echo(agent_jar())


class _gate_source:
    """A database, or a data folder imported into one; and the runs to judge."""

    def __init__(self, source: Path, db_path, run_id, label):
        self.source, self.db_path, self.run_id, self.label = source, db_path, run_id, label

    def __enter__(self):
        self.scratch = tempfile.TemporaryDirectory(prefix="unclosed-check-")
        if self.source.is_dir():
            self.store = Store(self.db_path or Path(self.scratch.name) / "check.db")
            run_ids = [jvm["run_id"] for jvm in import_data_folder(self.store, self.source, self.label)]
            if not run_ids:
                raise UnclosedError(f"{self.source} holds no data files: did the JVMs run with the agent's data= option?")
        else:
            self.store = Store(self.source)
            runs = [r for r in self.store.runs() if self.label is None or r["label"] == self.label]
            run_ids = [self.store.run(self.run_id)["id"]] if self.run_id else [r["id"] for r in runs]
            if not run_ids:
                raise UnclosedError(f"{self.source} has no runs{' labelled ' + self.label if self.label else ''}")
        return self.store, run_ids

    def __exit__(self, *exc):
        self.store.close()
        self.scratch.cleanup()


class _stdout:
    def __enter__(self):
        return sys.stdout

    def __exit__(self, *exc):
        sys.stdout.flush()


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
