"""`unclosed explain`: where the memory of a running JVM goes."""

import sys
from contextlib import nullcontext
from pathlib import Path

import click

from ..explain import explain_once, watch
from ..store import Store
from ..writers import EXPLAIN_WRITERS
from .options import Duration, format_option, pid_argument


@click.command()
@pid_argument
@click.option("--watch", "interval", type=Duration(), default=None,
              help="Sample again every DURATION (10s, 5m, 1h) until --count or Ctrl-C, then show what grew.")
@click.option("--count", type=click.IntRange(min=1), help="With --watch: how many samples (default: until Ctrl-C).")
@format_option(EXPLAIN_WRITERS, 'json: one document; with --watch {"samples": [...], "growth": {...}} at the end.')
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Keep each sample in this database (table memory_samples); with an agent loaded, also split "
                   "its held bytes by family (one drain, kept as a run labelled explain).")
@click.option("--attach", "attach_first", is_flag=True,
              help="Load the unclosed agent first when none is loaded (it counts the objects alive then, and "
                   "tracks those created from then on).")
@click.option("--histogram", is_flag=True,
              help="Count the live Inflaters and Deflaters in the JVM's class histogram (GC.class_histogram), times "
                   "their native estimate. It costs the JVM a full GC (each sample, with --watch).")
def explain(pid, interval, count, fmt, db_path, attach_first, histogram):
    """Explain where the memory of JVM PID goes: one breakdown of its RSS that adds up.

    The OS view (RSS anon/file/shmem, the memory cgroup and the working set a container metric
    shows), the JVM view through its diagnostic commands, as jcmd runs them (heap, metaspace, code
    cache, thread stacks, NMT categories when -XX:NativeMemoryTracking is on), its direct and
    mapped buffer pools (through unclosed's agent when it is loaded, else through the JDK's local
    management agent, started when the JVM runs none: it stays until the JVM exits) and
    unclosed's view (native bytes of tracked objects still held, when the agent is loaded). What
    nobody accounts for is the remainder, with hints: glibc malloc arenas, page cache, NMT off.

    \b
    Examples: unclosed explain 12345
              unclosed explain 12345 --histogram
              unclosed explain 12345 --attach --format json > memory.json
              unclosed explain 12345 --watch 10m --db memory.db    (Ctrl-C: what grew)
    """
    if count is not None and interval is None:
        raise click.UsageError("--count needs --watch")
    writer = EXPLAIN_WRITERS[fmt](sys.stdout, interval, count)
    with (Store(db_path) if db_path else nullcontext()) as store:
        if interval is None:
            writer.write_report(explain_once(pid, attach=attach_first, histogram=histogram, store=store))
            return
        samples = watch(pid, interval, count, attach=attach_first, histogram=histogram, store=store,
                        on_sample=writer.write_sample)
        writer.write_growth(samples)
