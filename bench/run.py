#!/usr/bin/env python3
"""The agent's costs against no agent and against async-profiler, side by side in one run.

    .venv/bin/python bench/run.py > tables.md          # everything, about 55 minutes (tables on stdout)
    .venv/bin/python bench/run.py --long > tables.md   # and memory over 10 minutes: about 80 minutes
    .venv/bin/python bench/run.py --quick              # 1 round of short runs, 5 minutes: a look only
    .venv/bin/python bench/run.py --only throughput --only attach --rounds 3

Measures (issue 14's targets, then issue 12's attach):
- throughput: each workload of ZlibBench.java in a fresh JVM per mode (no agent; unclosed full
  and 1/128; async-profiler nativemem full and sampled), modes interleaved round after round;
  the median and range of the per-round ratios of wall time and of process CPU per operation.
- threads: 8 threads creating and ending Inflaters for 60 s under `unclosed record --interval 1s`:
  objects/s with and without the agent, the agent's dropped counters, the drain intervals.
- memory: VmRSS with no agent, unclosed and async-profiler, after 30 s (and 10 min: --long) of
  1 KiB round trips with 1 in 100 streams dropped.
- answer: `unclosed record PID --duration 5s` then `unclosed report`, command start to printed
  report, on an idle JVM; async-profiler's start, 5 s, stop and leak conversion beside it.
- exit: how much `report=stderr` adds to the life of a JVM that exits by itself.
- attach: a fresh Python loading the agent with the pure-Python attach client against
  `jcmd PID VM.version`, on the same fresh JVM, idle and busy.
- heap: the agent's heap per held object; pipeline: one drain of 200,000 held objects into SQLite.
The controller is used through its CLI only; a measure that needs it and finds it failing says
so and is skipped.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
UNCLOSED = str(ROOT / ".venv" / "bin" / "unclosed")
PYTHON = str(ROOT / ".venv" / "bin" / "python")
CACHE = HERE / ".cache"
PEER_VERSION = "4.2"
# The pure-Python attach client: in the package once it moves there, else where it was written.
ATTACH_CLIENTS = [(ROOT / "controller", "unclosed.hotspot", ROOT / "controller" / "unclosed" / "hotspot.py"),
                  (Path("/work/probes/attach"), "hotspot_attach", Path("/work/probes/attach/hotspot_attach.py"))]
FIXED_HEAP = ("-Xms1g", "-Xmx1g")
SAMPLE = 128
MiB = 1 << 20


@dataclass(frozen=True)
class Workload:
    label: str
    name: str  # ZlibBench's
    threads: int = 1
    heap: tuple = FIXED_HEAP
    # Native bytes malloc'd per tracked object (async-profiler's full mode, JDK 17, zlib 1.2.13):
    # its sampled mode takes a stack every SAMPLE times that many bytes, as many stacks as
    # unclosed's 1 in SAMPLE. None: nothing tracked, no sampled modes.
    bytes_per_object: int | None = None
    target: str = ""

    @property
    def modes(self) -> tuple:
        return ("none", "full", "sampled", "ap", "ap-sampled") if self.bytes_per_object else ("none", "full", "ap")


GZIP = 154_000  # a round trip: Deflater 268 KiB + Inflater 7 KiB + its 32 KiB window, for 2 objects
WORKLOADS = [
    Workload("1 KiB GZIP round trips, fixed heap", "gzip-1k", bytes_per_object=GZIP, target="full <= x1.25, <= peer"),
    Workload("1 KiB GZIP round trips, default heap", "gzip-1k", heap=(), bytes_per_object=GZIP,
             target="full <= x1.25, <= peer"),
    Workload("1 KiB, 1 in 100 dropped, 5 Inflaters held", "gzip-1k-leak", bytes_per_object=GZIP, target="full <= peer"),
    Workload("64 KiB GZIP round trips", "gzip-64k", bytes_per_object=GZIP, target="full <= peer"),
    Workload("4 KiB direct buffer churn", "direct-4k", bytes_per_object=4096, target="full <= x1.5, <= peer"),
    Workload("8 threads creating and ending Inflaters", "inflaters", threads=8, bytes_per_object=7_300,
             target="full <= peer"),
    Workload("no zlib (CRC32): attached but idle", "no-zlib", target="full <= peer"),
]
INFLATERS = WORKLOADS[5]
LEAKY = WORKLOADS[2]
MODE_NAMES = {"none": "no agent", "full": "unclosed full", "sampled": f"unclosed 1/{SAMPLE}",
              "ap": "async-profiler full", "ap-sampled": "async-profiler sampled"}


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- the tools ---------------------------------------------------------------------------------

def java() -> Path:
    home = os.environ.get("JAVA_HOME")
    return Path(home) / "bin" / "java" if home else Path(os.path.realpath(shutil.which("java")))


def jcmd(pid: int, *command: str) -> str:
    return subprocess.run([str(java().parent / "jcmd"), str(pid), *command], check=True, capture_output=True,
                          text=True).stdout


@dataclass
class Peer:
    """async-profiler's library and converter, from Maven Central into bench/.cache."""
    library: Path
    converter: Path

    def agentpath(self, interval: int, jfr: Path) -> str:
        return f"-agentpath:{self.library}=start,event=nativemem,nativemem={interval},file={jfr}"

    def leak_report(self, jfr: Path, html: Path) -> None:
        subprocess.run([str(java()), "-jar", str(self.converter), "--nativemem", "--leak", "--total", "--lines",
                        str(jfr), str(html)], check=True, capture_output=True, text=True)


def find_peer() -> tuple[Peer | None, str]:
    """The peer, fetched once; or None and why not."""
    library, converter = CACHE / "libasyncProfiler.so", CACHE / f"jfr-converter-{PEER_VERSION}.jar"
    try:
        for artifact in ("async-profiler", "jfr-converter"):
            if not (CACHE / f"{artifact}-{PEER_VERSION}.jar").exists():
                subprocess.run(["mvn", "-q", "dependency:copy", f"-Dartifact=tools.profiler:{artifact}:{PEER_VERSION}:jar",
                                f"-DoutputDirectory={CACHE}"], check=True, capture_output=True, text=True)
        if not library.exists():
            with zipfile.ZipFile(CACHE / f"async-profiler-{PEER_VERSION}.jar") as jar:
                library.write_bytes(jar.read("linux-x64/libasyncProfiler.so"))
    except subprocess.CalledProcessError as e:
        return None, f"n/a (async-profiler {PEER_VERSION} could not be fetched: {(e.stdout + e.stderr).strip()[-200:]})"
    except (OSError, KeyError) as e:
        return None, f"n/a (async-profiler {PEER_VERSION}: {e})"
    return Peer(library, converter), f"async-profiler {PEER_VERSION} ({library})"


def attach_client() -> tuple[Path, str] | None:
    """(folder for sys.path, module) of the pure-Python attach client, or None."""
    for folder, module, source in ATTACH_CLIENTS:
        if source.exists():
            return folder, module
    return None


@dataclass
class Bench:
    """What every measure shares."""
    classes: Path
    scratch: Path
    agent: str
    peer: Peer | None
    rounds: int
    warmup: float
    seconds: float
    quick: bool
    long: bool
    runs: int = 0

    def place(self) -> Path:
        """A fresh folder for one JVM's files (agent folder, JFR): removed with the scratch."""
        self.runs += 1
        where = self.scratch / f"run-{self.runs}"
        where.mkdir()
        return where


class Jvm:
    """A JVM of ours: stdout read line by line, stderr kept in a file, killed on exit."""

    def __init__(self, bench: Bench, options, main: str, *args, where: Path | None = None):
        self.where = where or bench.place()
        self.stderr_path = self.where / "stderr"
        self.started = time.perf_counter()
        with open(self.stderr_path, "w") as stderr:
            self.process = subprocess.Popen([str(java()), *options, "-cp", str(bench.classes), main, *map(str, args)],
                                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True)
        self.pid = self.process.pid

    def expect(self, prefix: str) -> str:
        """Reads stdout until a line that starts with `prefix`; the JVM ending first is an error."""
        for line in self.process.stdout:
            if line.startswith(prefix):
                return line.strip()
        self.process.wait()
        raise RuntimeError(f"JVM {self.pid} ended (exit {self.process.returncode}) before `{prefix}`: "
                           f"{self.stderr_path.read_text()[-800:]}")

    def result(self) -> dict:
        """The RESULT line's figures; an agent that did not start makes them worthless: an error."""
        line = self.expect("RESULT ")
        for problem in self.stderr_path.read_text().splitlines():
            if problem.startswith("unclosed: agent not started"):
                raise RuntimeError(f"JVM {self.pid}: {problem}")
        return {k: float(v) for k, v in (part.split("=") for part in line.split()[1:])}

    def rss(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError(f"no VmRSS for {self.pid}")

    def heap_after_gc(self, tries: int = 20) -> int:
        """Runs a full GC and returns the heap used after it, in MiB, from the JVM's GC log
        (`-Xlog:gc:file=WHERE/gc.log`). `jcmd PID GC.run` is skipped while a thread is inside zlib
        (the GC locker: a young GC follows instead), so it is asked again until a full GC is logged."""
        for _ in range(tries):
            jcmd(self.pid, "GC.run")
            last = (self.where / "gc.log").read_text().strip().splitlines()[-1]
            if "Pause Full" in last:
                return int(re.search(r"->(\d+)M\(", last).group(1))
        raise RuntimeError(f"JVM {self.pid}: no full GC in {tries} tries of `jcmd GC.run`")

    def wait(self) -> float:
        """Waits for the JVM to exit by itself; its life in seconds."""
        self.process.stdin.close()
        self.process.wait()
        return time.perf_counter() - self.started

    def __enter__(self) -> "Jvm":
        return self

    def __exit__(self, *exc) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.process.stdout.close()
        if self.process.stdin and not self.process.stdin.closed:
            self.process.stdin.close()


def mode_options(bench: Bench, mode: str, where: Path, workload: Workload | None = None, agent_extra: str = "") -> list:
    """JVM options for a mode: the agent or the peer at startup, its files under `where`."""
    if mode == "none":
        return []
    if mode in ("full", "sampled"):
        options = [f"dir={where / 'agent'}", f"sample={SAMPLE}" if mode == "sampled" else "", agent_extra]
        return [f"-javaagent:{bench.agent}={','.join(filter(None, options))}"]
    interval = SAMPLE * workload.bytes_per_object if mode == "ap-sampled" else 0
    return [bench.peer.agentpath(interval, where / "peer.jfr")]


def bench_jvm(bench: Bench, workload: Workload, mode: str, warmup: float, seconds: float, agent_extra: str = "") -> Jvm:
    where = bench.place()
    return Jvm(bench, [*workload.heap, *mode_options(bench, mode, where, workload, agent_extra)], "ZlibBench",
               workload.name, warmup, seconds, workload.threads, where=where)


def run_workload(bench: Bench, workload: Workload, mode: str) -> dict:
    """One fresh JVM: {ops_per_s, cpu_s} of its measured part."""
    with bench_jvm(bench, workload, mode, bench.warmup, bench.seconds) as jvm:
        figures = jvm.result()
        jvm.wait()  # the peer writes its JFR at exit: not while the next JVM runs
    shutil.rmtree(jvm.where)
    return figures


def probe_jvm(bench: Bench, held: int = 0, threads: int = 0, mode: str = "none", agent_extra: str = "") -> Jvm:
    """An AgentProbe JVM, ready: holding `held` Inflaters, `threads` threads compressing."""
    where = bench.place()
    jvm = Jvm(bench, [*FIXED_HEAP, *mode_options(bench, mode, where, agent_extra=agent_extra)], "AgentProbe", held,
              threads, where=where)
    jvm.heap_used = jvm.result()["heap_used"]
    jvm.expect("ready")
    return jvm


@dataclass
class Recorded:
    """One `unclosed record` and what its database says about the run."""
    error: str | None = None
    run: dict = field(default_factory=dict)
    drain_times_ms: list = field(default_factory=list)  # when each drain was stored
    opened: list = field(default_factory=list)  # (time_ms, objects opened since tracking began) per drain
    counters: dict = field(default_factory=dict)  # the agent's, at the last drain
    objects: int = 0  # rows in `objects`: what drains listed

    @property
    def skipped(self) -> str:
        return f"skipped: `unclosed record` failed: {self.error}" if self.error else ""


def record(pid: int, db: Path, duration: float, interval: float | None = None) -> Recorded:
    """`unclosed record PID --db DB --duration ...` (its default interval unless given), then what DB says."""
    command = [UNCLOSED, "record", str(pid), "--db", str(db), "--duration", f"{duration:g}s"]
    if interval:
        command += ["--interval", f"{interval:g}s"]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        return Recorded(error=(done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1])
    return read_run(db)


def read_run(db: Path) -> Recorded:
    """The latest run in a database of the controller's."""
    recorded = Recorded()
    try:
        with sqlite3.connect(db) as con:
            con.row_factory = sqlite3.Row
            recorded.run = dict(con.execute("SELECT * FROM runs ORDER BY id DESC LIMIT 1").fetchone())
            run = recorded.run["id"]
            recorded.drain_times_ms = [t for (t,) in con.execute(
                "SELECT DISTINCT time_ms FROM agent_counters WHERE run_id = ? ORDER BY time_ms", (run,))]
            recorded.opened = [tuple(row) for row in con.execute(
                "SELECT MAX(time_ms), SUM(opened) FROM site_counts WHERE run_id = ? GROUP BY drain ORDER BY drain",
                (run,))]
            recorded.counters = dict(con.execute(
                "SELECT name, value FROM agent_counters WHERE run_id = ? AND time_ms = "
                "(SELECT MAX(time_ms) FROM agent_counters WHERE run_id = ?)", (run, run)).fetchall())
            recorded.objects = con.execute("SELECT COUNT(*) FROM objects WHERE run_id = ?", (run,)).fetchone()[0]
    except (sqlite3.Error, TypeError) as e:
        recorded.error = f"its database is not as this harness reads it ({e})"
    return recorded


def after_duration(recorded: Recorded, duration: float) -> float:
    """Seconds from the end of the duration to the run's end: the last drain and its ingest."""
    return (recorded.run["ended_ms"] - recorded.run["started_ms"]) / 1000 - duration


# -- output ---------------------------------------------------------------------------------

def spread(values, unit: str = "x", digits: int = 2) -> str:
    """Median (min..max); "x" prefixes ratios, any other unit follows the numbers."""
    if not values:
        return "n/a"
    def f(v):
        return f"x{v:.{digits}f}" if unit == "x" else f"{v:,.{digits}f}{unit}"
    if len(values) == 1:
        return f(values[0])
    return f"{f(statistics.median(values))} ({f(min(values))}..{f(max(values))})"


def table(title: str, headers: list, rows: list, notes=()) -> None:
    print(f"\n### {title}\n")
    print("| " + " | ".join(headers) + " |")
    print("|" + " --- |" * len(headers))
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")
    for note in notes:
        print(f"\n{note}")
    sys.stdout.flush()


def rotated(items, r: int) -> list:
    """`items` starting at a different one each round, so that no mode always runs first."""
    items = list(items)
    return items[r % len(items):] + items[:r % len(items)]


# -- the measures ----------------------------------------------------------------------------

def throughput(bench: Bench) -> None:
    """Issue 14, target 1 (and target 2's objects/s): time and CPU per operation per mode."""
    rows = []
    for workload in WORKLOADS:
        modes = [m for m in workload.modes if bench.peer or not m.startswith("ap")]
        runs, failed = {mode: [] for mode in modes}, {}
        for r in range(bench.rounds):
            for mode in rotated([m for m in modes if m not in failed], r):
                try:
                    runs[mode].append(run_workload(bench, workload, mode))
                except RuntimeError as e:  # that mode is given up; its rounds so far stay paired with the others'
                    failed[mode] = str(e)
                    say(f"  {workload.name:12} x{workload.threads} round {r + 1} {mode:10} failed: {e}")
                    continue
                say(f"  {workload.name:12} x{workload.threads} round {r + 1} {mode:10} "
                    f"{runs[mode][-1]['ops_per_s']:>12,.0f} ops/s  cpu {runs[mode][-1]['cpu_s']:.2f} s")

        def time_x(mode, base="none"):  # wall time per operation, per round, relative to `base`
            if mode not in runs or base not in runs:
                return []
            return [b["ops_per_s"] / m["ops_per_s"] for m, b in zip(runs[mode], runs[base])]

        def cpu_x(mode):
            return [(m["cpu_s"] / m["ops_per_s"]) / (b["cpu_s"] / b["ops_per_s"]) for m, b in zip(runs[mode], runs["none"])]

        def cell(mode):
            if mode not in runs:
                return "n/a"
            if mode in failed:
                return f"failed: {failed[mode][:200]}"
            return f"{spread(time_x(mode))}, cpu {spread(cpu_x(mode))}"

        base = [run["ops_per_s"] for run in runs["none"]]
        rows.append([workload.label, spread(base, "", 0), cell("full"), cell("sampled"), cell("ap"), cell("ap-sampled"),
                     spread(time_x("full", "ap")), spread(time_x("sampled", "ap-sampled")), workload.target])
    table("Throughput: wall time per operation against no agent (CPU per operation beside it)",
          ["workload", "no agent ops/s", MODE_NAMES["full"], MODE_NAMES["sampled"], MODE_NAMES["ap"],
           MODE_NAMES["ap-sampled"], "unclosed full / peer full", f"unclosed 1/{SAMPLE} / peer sampled", "target"],
          rows,
          [f"Median (range) of {bench.rounds} round(s) of per-round ratios; a fresh JVM per mode and round, "
           f"{bench.warmup:g} s warm-up, {bench.seconds:g} s measured; CPU is user + system time of the process "
           "(/proc/PID/stat) in the measured part. async-profiler: `event=nativemem,nativemem=0` (every malloc, "
           f"every free); sampled: `nativemem=N` with N = {SAMPLE} x the native bytes per tracked object of the "
           "workload (one stack per that many bytes malloc'd: as many stacks as 1 in 128 objects; it still "
           "records every free, without a stack)."])


def many_threads(bench: Bench) -> None:
    """Issue 14, target 2: 8 threads creating and ending Inflaters, recorded every second."""
    seconds = 10 if bench.quick else 60
    margin = 5  # the JVM outlives the recording: its last drain comes after the duration
    say(f"  {INFLATERS.name} x8: {seconds} s without the agent")
    with bench_jvm(bench, INFLATERS, "none", bench.warmup, seconds) as jvm:
        without = jvm.result()["ops_per_s"]
    say(f"  {INFLATERS.name} x8: {seconds} s with the agent, recorded every 1 s")
    with bench_jvm(bench, INFLATERS, "full", bench.warmup, seconds + margin) as jvm:
        jvm.expect("measuring")
        recorded = record(jvm.pid, jvm.where / "threads.db", seconds, interval=1)
        with_agent = jvm.result()["ops_per_s"]
    rows = [["objects created and ended per second", f"{without:,.0f}", f"{with_agent:,.0f} (x{without / with_agent:.2f})",
             ">= 500,000"]]
    if recorded.error:
        rows.append(["dropped, drains", "", recorded.skipped, ""])
    else:
        gaps = [(b - a) / 1000 for a, b in zip(recorded.drain_times_ms, recorded.drain_times_ms[1:])]
        (first_ms, first), (last_ms, last) = recorded.opened[0], recorded.opened[-1]
        c = recorded.counters
        rows += [
            ["objects tracked per second (the agent's counts, first drain to last)", "",
             f"{(last - first) / (last_ms - first_ms) * 1000:,.0f}" if last_ms > first_ms else "n/a", ">= 500,000"],
            ["dropped: events, objects, sites; held objects not listed", "",
             ", ".join(f"{c[name]:,}" if name in c else "n/a"
                       for name in ("dropped_events", "dropped_objects", "dropped_sites", "held_not_listed")), "0"],
            [f"drains (runs.drains) in {seconds} s at --interval 1s; their intervals", "",
             f"{recorded.run['drains']}; {spread(gaps, ' s')}", "1 s"],
        ]
    table("Many threads: 8 threads creating and ending Inflaters, `unclosed record PID --interval 1s`",
          ["", "no agent", "unclosed full, recorded", "target"], rows,
          [f"One JVM each, {seconds} s measured, fixed heap; the agent at startup, default caps; intervals are "
           "those between the drains' rows in the database (agent_counters times)."])


def memory(bench: Bench) -> None:
    """Issue 14, target 3: VmRSS with and without tracking, 1 KiB round trips with 1 in 100 dropped."""
    checkpoints = (10,) if bench.quick else (30, 600) if bench.long else (30,)
    rounds = 1 if bench.quick or bench.long else 3
    modes = [m for m in ("none", "full", "ap") if bench.peer or m != "ap"]
    figures = {mode: [] for mode in modes}  # per round: per checkpoint {figure: MiB}
    for r in range(rounds):
        for mode in rotated(modes, r):
            where = bench.place()
            # unclosed drains by itself into files every 2 s (data=): a recorded JVM, without the controller.
            options = (mode_options(bench, mode, where, LEAKY) if mode != "full"
                       else [f"-javaagent:{bench.agent}=data={where / 'data'}"])
            options = [*LEAKY.heap, "-XX:+AlwaysPreTouch", f"-Xlog:gc:file={where / 'gc.log'}", *options]
            with Jvm(bench, options, "ZlibBench", LEAKY.name, 0, checkpoints[-1] + 60, 1, where=where) as jvm:
                jvm.expect("measuring")
                started, sampled = time.perf_counter(), []
                for checkpoint in checkpoints:
                    time.sleep(max(0.0, started + checkpoint - time.perf_counter()))
                    rss = jvm.rss() / MiB
                    heap = jvm.heap_after_gc()
                    time.sleep(1)  # the Cleaner frees the native memory of what the GC found unreachable
                    jcmd(jvm.pid, "System.trim_native_heap")  # and malloc gives it back to the system
                    sampled.append({"rss": rss, "rss_gc": jvm.rss() / MiB, "heap": heap})
            shutil.rmtree(where)
            figures[mode].append(sampled)
            say(f"  memory round {r + 1} {mode:5} " + ", ".join(
                f"at {c} s: VmRSS {f['rss']:,.0f} MiB, {f['rss_gc']:,.0f} after a full GC and a trim, heap {f['heap']:,.0f}"
                for c, f in zip(checkpoints, sampled)))

    def at(mode, i, key):
        return [run[i][key] for run in figures[mode]]

    def over_none(mode, i, key):
        return [m - b for m, b in zip(at(mode, i, key), at("none", i, key))]
    rows = []
    for i, c in enumerate(checkpoints):
        rows += [[f"VmRSS at {c} s", *(spread(at(m, i, "rss"), " MiB", 0) for m in modes)],
                 [f"VmRSS after a full GC and a trim at {c} s", *(spread(at(m, i, "rss_gc"), " MiB", 0) for m in modes)],
                 ["... over no agent", "", *(spread(over_none(m, i, "rss_gc"), " MiB", 1) for m in modes[1:])],
                 ["heap used after that full GC, over no agent", "",
                  *(spread(over_none(m, i, "heap"), " MiB", 0) for m in modes[1:])]]
    if len(checkpoints) > 1:
        for key, what in (("rss_gc", "VmRSS after a full GC and a trim"), ("heap", "heap used after a full GC")):
            rows.append([f"{what}: growth from {checkpoints[0]} s to {checkpoints[-1]} s",
                         *(spread([run[-1][key] - run[0][key] for run in figures[m]], " MiB", 1) for m in modes)])
    table(f"Memory: {LEAKY.label}", ["", *(MODE_NAMES[m] for m in modes)], rows,
          [f"Median (range) of {rounds} JVM(s) per mode. The heap is fixed and pre-touched (`-Xms1g -Xmx1g "
           "-XX:+AlwaysPreTouch`), so VmRSS differences are memory outside the heap; what the agent keeps on the "
           "heap is the heap used after a full GC (from the JVM's GC log). VmRSS as it is counts the zlib memory of "
           "dropped streams not reclaimed yet, and memory malloc keeps after it was freed, both of which vary with the "
           "GC's timing; after a full GC (`jcmd PID GC.run`), 1 s for the Cleaner and `jcmd PID System.trim_native_heap` "
           "it does not. unclosed tracks every object and drains "
           "by itself every 2 s (`data=DIR`); async-profiler `nativemem=0`. Target: unclosed <= +24 MiB over no "
           "agent at 30 s and at 10 min, no growth between the two."])


def time_to_answer(bench: Bench) -> None:
    """Issue 14, target 4: record 5 s then report, against the peer's start, 5 s, stop and conversion."""
    duration = 5
    client = attach_client()
    ours, last, peer, error, peer_error = [], [], [], None, None
    for r in range(bench.rounds):
        if error is None:  # once the controller failed, it is not tried again
            with probe_jvm(bench) as jvm:
                db = jvm.where / "answer.db"
                t0 = time.perf_counter()
                recorded = record(jvm.pid, db, duration)
                if not recorded.error:
                    report = subprocess.run([UNCLOSED, "report", str(db)], capture_output=True, text=True)
                    if report.returncode != 0 or not report.stdout.strip():
                        recorded.error = f"`unclosed report` failed: {report.stderr.strip()[-300:]}"
                if recorded.error:
                    error = recorded.skipped
                else:
                    ours.append(time.perf_counter() - t0)
                    last.append(after_duration(recorded, duration))
        if bench.peer and client and peer_error is None:
            with probe_jvm(bench) as jvm:
                jfr = jvm.where / "peer.jfr"
                t0 = time.perf_counter()
                start = f"start,event=nativemem,nativemem=0,file={jfr}"
                try:
                    subprocess.run([PYTHON, "-c", PEER_SESSION.format(
                        folder=str(client[0]), module=client[1], pid=jvm.pid, library=str(bench.peer.library),
                        start=start, seconds=duration)], check=True, capture_output=True, text=True)
                    bench.peer.leak_report(jfr, jvm.where / "peer.html")
                    peer.append(time.perf_counter() - t0)
                except subprocess.CalledProcessError as e:
                    peer_error = f"failed: {e.stderr.strip()[-300:]}"
        say(f"  time to answer round {r + 1}: unclosed {ours[-1] if ours else error}, "
            f"peer {peer[-1] if peer else peer_error or 'n/a'}")
    table("Time to answer: record 5 s on an idle JVM, then the report",
          ["", "unclosed", "async-profiler", "unclosed / peer", "target"],
          [["command start to printed report", error or spread(ours, " s"), peer_error or spread(peer, " s"),
            spread([o / p for o, p in zip(ours, peer)]), "<= 6.5 s"],
           ["the last drain and ingest after the duration", error or spread(last, " s"), "", "", "<= 0.5 s"]],
          [f"Median (range) of {bench.rounds} fresh idle JVM(s) each. unclosed: `unclosed record PID --db X --duration "
           f"5s` then `unclosed report X`; the last drain is the database's runs.ended_ms - started_ms - 5 s. "
           "async-profiler: a fresh Python that attaches it (`start,event=nativemem,nativemem=0,file=x.jfr`), "
           "sleeps 5 s and stops it (the attach client's `load`, as asprof would), then "
           "`jfr-converter --nativemem --leak --total --lines x.jfr out.html`."])


# A fresh Python that runs async-profiler in a JVM for some seconds, as asprof would.
PEER_SESSION = """import sys, time
sys.path.insert(0, {folder!r})
from {module} import execute
execute({pid}, "load", {library!r}, "true", {start!r})
time.sleep({seconds})
execute({pid}, "load", {library!r}, "true", "stop")
"""


def exit_report(bench: Bench) -> None:
    """Issue 14, target 4: what `report=stderr` adds to a JVM's life (a workload that exits after 2 s)."""
    cases = {"none": ("none", ""), "full": ("full", ""), "report": ("full", "report=stderr")}
    if bench.peer:
        cases["ap"] = ("ap", "")
    lives = {case: [] for case in cases}
    for r in range(bench.rounds):
        for case in rotated(cases, r):
            mode, extra = cases[case]
            with bench_jvm(bench, LEAKY, mode, 0, 2, agent_extra=extra) as jvm:
                jvm.result()
                lives[case].append(jvm.wait())
            if case == "report" and "unclosed:" not in jvm.stderr_path.read_text():
                raise RuntimeError(f"no report on stderr: {jvm.stderr_path.read_text()[-500:]}")
            shutil.rmtree(jvm.where)
        say(f"  exit round {r + 1}: " + ", ".join(f"{case} {life[-1]:.2f} s" for case, life in lives.items()))

    def minus(a, b):
        return [x - y for x, y in zip(lives[a], lives[b])]
    rows = [["JVM life", *(spread(lives[c], " s") for c in cases)],
            ["... more than no agent", "", *(spread(minus(c, "none"), " s") for c in list(cases)[1:])],
            ["`report=stderr` adds (against unclosed full)", "", "", spread(minus("report", "full"), " s"),
             *([""] if bench.peer else [])]]
    table("Exit: a JVM that does 2 s of 1 KiB round trips (1 in 100 dropped) and exits",
          ["", "no agent", "unclosed full", "unclosed full, report=stderr", *(["async-profiler full (JFR at exit)"]
                                                                             if bench.peer else [])], rows,
          [f"Median (range) of {bench.rounds} round(s), from process start to exit. Target: report=stderr adds <= 0.5 s."])


# A fresh Python that loads the agent with the attach client: returns once agentmain has.
LOAD_AGENT = """import sys
sys.path.insert(0, {folder!r})
from {module} import load_agent
load_agent({pid}, {jar!r}, {options!r})
"""


def attach(bench: Bench) -> None:
    """Issue 12, item 3: until tracking is on, against `jcmd PID VM.version` on the same JVM."""
    client = attach_client()
    if client is None:
        table("Attach", ["", ""], [["skipped", "no pure-Python attach client (unclosed.hotspot) found"]])
        return
    times = {(load, tool): [] for load in ("idle", "busy") for tool in ("jcmd", "unclosed")}
    for r in range(bench.rounds):
        for load, threads in (("idle", 0), ("busy", 2)):
            with probe_jvm(bench, threads=threads) as jvm:
                time.sleep(1)
                commands = {"jcmd": [str(java().parent / "jcmd"), str(jvm.pid), "VM.version"],
                            "unclosed": [PYTHON, "-c", LOAD_AGENT.format(folder=str(client[0]), module=client[1],
                                                                         pid=jvm.pid, jar=bench.agent,
                                                                         options=f"dir={jvm.where / 'agent'}")]}
                for tool in rotated(commands, r):  # who goes first alternates: the first starts the listener
                    t0 = time.perf_counter()
                    subprocess.run(commands[tool], check=True, capture_output=True, text=True)
                    times[load, tool].append(time.perf_counter() - t0)
            say(f"  attach round {r + 1} {load}: jcmd {times[load, 'jcmd'][-1]:.2f} s, "
                f"unclosed {times[load, 'unclosed'][-1]:.2f} s")
    rows = [[f"{load} JVM" + (" (2 threads compressing)" if load == "busy" else ""),
             spread(times[load, "jcmd"], " s"), spread(times[load, "unclosed"], " s"),
             spread([u / j for u, j in zip(times[load, "unclosed"], times[load, "jcmd"])]),
             "< 1 s" if load == "idle" else "<= x1.5"] for load in ("idle", "busy")]
    table("Attach: until tracking is on, against the JDK's own attach round trip",
          ["JVM", "jcmd PID VM.version", "unclosed (fresh Python, load_agent)", "unclosed / jcmd", "target"], rows,
          [f"Median (range) of {bench.rounds} fresh JVM(s) per load; both tools on the same JVM, which goes first "
           f"alternating; the agent through `{client[1]}.load_agent` until agentmain returns, full tracking."])


def heap(bench: Bench, n: int = 100_000) -> None:
    """Agent heap bytes per held tracked object: the slope from 0 to n held, agent minus no agent."""
    def used(held: int, mode: str) -> float:
        # A tiny event buffer, so that the slope is the per-object state, not pending events.
        with probe_jvm(bench, held, mode=mode, agent_extra="max_events=16") as jvm:
            return jvm.heap_used
    per_object = ((used(n, "full") - used(0, "full")) - (used(n, "none") - used(0, "none"))) / n
    table("Agent heap per held object", ["", "bytes", "target"],
          [[f"{n:,} Inflaters held: slope with minus without the agent (`max_events=16`)", f"{per_object:.0f}", "< 100"]])


def pipeline(bench: Bench, n: int = 200_000) -> None:
    """Agent to SQLite: one drain that lists n held objects, and its ingest, through `unclosed record`."""
    with probe_jvm(bench, n, mode="full") as jvm:
        recorded = record(jvm.pid, jvm.where / "pipeline.db", 1, interval=1)
    if recorded.error:
        row = [f"{n:,} held objects listed by one drain", recorded.skipped, ""]
    else:
        seconds = after_duration(recorded, 1)
        row = [f"{recorded.objects:,} held objects listed by one drain (of {n:,})",
               f"{recorded.objects / seconds:,.0f} objects/s ({seconds:.2f} s)", ">= 500,000"]
    table("Agent to SQLite: drain and ingest", ["", "objects per second", "target"], [row],
          ["The drain and its ingest: runs.ended_ms - started_ms - 1 s of `unclosed record --duration 1s --interval 1s`."])


MEASURES = {"throughput": throughput, "threads": many_threads, "memory": memory, "answer": time_to_answer,
            "exit": exit_report, "attach": attach, "heap": heap, "pipeline": pipeline}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=10, help="fresh JVMs per mode (medians of per-round ratios)")
    parser.add_argument("--seconds", type=float, default=4, help="measured seconds per throughput JVM")
    parser.add_argument("--warmup", type=float, default=2, help="warm-up seconds per throughput JVM")
    parser.add_argument("--quick", action="store_true", help="1 round of short runs: a look, not a measurement")
    parser.add_argument("--long", action="store_true", help="memory: also after 10 minutes (about 25 minutes more)")
    parser.add_argument("--agent", help="the agent jar to measure (default: the controller's, `unclosed agent-path`)")
    parser.add_argument("--only", choices=list(MEASURES), action="append", help="this measure only (repeatable)")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds, args.warmup = 1, 2, 1
    version = subprocess.run([str(java()), "-version"], capture_output=True, text=True).stderr.splitlines()[0]
    peer, peer_note = find_peer()
    if args.agent:  # for the controller's commands too
        os.environ["UNCLOSED_AGENT_JAR"] = os.path.abspath(args.agent)
    agent = subprocess.run([UNCLOSED, "agent-path"], capture_output=True, text=True, check=True).stdout.strip()
    commit = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%h %s"], capture_output=True,
                            text=True).stdout.strip()
    print(f"## Run of {datetime.now():%Y-%m-%d %H:%M}\n\n    .venv/bin/python bench/run.py {' '.join(sys.argv[1:])}\n\n"
          f"{version}, {os.cpu_count()} cores, {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB; "
          f"commit {commit[:60]}; agent {agent}; peer: {peer_note}; {args.rounds} round(s).")
    with tempfile.TemporaryDirectory(prefix="unclosed-bench-") as scratch:
        scratch = Path(scratch)
        subprocess.run(["javac", "-d", str(scratch / "classes"), *map(str, HERE.glob("*.java"))], check=True)
        bench = Bench(scratch / "classes", scratch, agent, peer, args.rounds, args.warmup, args.seconds, args.quick,
                      args.long)
        for name in args.only or MEASURES:
            say(f"{name}:")
            try:
                MEASURES[name](bench)
            except (RuntimeError, OSError, subprocess.CalledProcessError) as e:  # the other measures still run
                detail = getattr(e, "stderr", None) or ""
                print(f"\n### {name}: failed\n\n{e} {detail[-500:] if isinstance(detail, str) else ''}\n", flush=True)


if __name__ == "__main__":
    main()
