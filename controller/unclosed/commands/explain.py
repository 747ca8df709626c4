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
    if count is not None and interval is None:
        raise click.UsageError("--count needs --watch")
    writer = EXPLAIN_WRITERS[fmt](sys.stdout, interval, count)
    with (Store(db_path) if db_path else nullcontext()) as store:
        if interval is None:
            writer.write_report(explain_once(pid, attach=attach_first, store=store))
            return
        samples = watch(pid, interval, count, attach=attach_first, store=store, on_sample=writer.write_sample)
        writer.write_growth(samples)
