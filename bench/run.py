#!/usr/bin/env python3
"""The agent's costs, measured side by side in one run and printed as ratios.

    .venv/bin/python bench/run.py                 # everything, about 10 minutes
    .venv/bin/python bench/run.py --quick         # shorter runs, for a look
    .venv/bin/python bench/run.py --only throughput --rounds 5

Throughput: each workload runs in a fresh JVM per mode (no agent; the agent tracking every
object; the agent sampling 1 in 128), the modes interleaved round after round so that a busy
machine slows them alike; the median of the rounds is compared with no agent. `no-zlib` creates
nothing tracked: its ratio is the cost of an agent attached but idle.
Then: agent heap per held object, events per second from the agent into SQLite, and attach
(time to the first recorded object, and the longest stop while classes are retransformed).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "controller"))

from unclosed import AgentChannel, Store, agent_jar, attach_agent  # noqa: E402

MODES = {"none": None, "full": "", "sampled": "sample=128"}
WORKLOADS = [  # (workload, threads, modes)
    ("gzip-1k", 1, ("none", "full", "sampled")),
    ("gzip-64k", 1, ("none", "full", "sampled")),
    ("gzip-1k-leak1pct", 1, ("none", "full", "sampled")),
    ("direct-churn", 1, ("none", "full", "sampled")),
    ("gzip-1k", 8, ("none", "full", "sampled")),
    ("no-zlib", 1, ("none", "full")),
]
JVM_OPTIONS = ["-Xms1g", "-Xmx1g"]


def java() -> str:
    home = os.environ.get("JAVA_HOME")
    return str(Path(home) / "bin" / "java") if home else "java"


def compile_bench(out: Path) -> Path:
    subprocess.run(["javac", "-d", str(out), *map(str, HERE.glob("*.java"))], check=True)
    return out


def agent_options(mode: str, agent_dir: Path) -> list[str]:
    extra = MODES[mode]
    if extra is None:
        return []
    options = ",".join(filter(None, [f"dir={agent_dir}", extra]))
    return [f"-javaagent:{agent_jar()}={options}"]


def result(line_source: str, key: str) -> float:
    for line in line_source.splitlines():
        if line.startswith("RESULT "):
            fields = dict(part.split("=") for part in line.split()[1:])
            if key in fields:
                return float(fields[key])
    raise RuntimeError(f"no {key} in output: {line_source[-500:]}")


def throughput(classes: Path, scratch: Path, rounds: int, warmup: float, seconds: float) -> list[dict]:
    rows = []
    for workload, threads, modes in WORKLOADS:
        samples = {mode: [] for mode in modes}
        for r in range(rounds):
            for mode in modes:
                command = [java(), *JVM_OPTIONS, *agent_options(mode, scratch / f"agent-{mode}-{r}"), "-cp", str(classes),
                           "ZlibBench", workload, str(warmup), str(seconds), str(threads)]
                out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
                samples[mode].append(result(out, "ops_per_s"))
        base = statistics.median(samples["none"])
        for mode in modes:
            ops = statistics.median(samples[mode])
            rows.append({"workload": workload, "threads": threads, "mode": mode, "ops_per_s": ops,
                         "min": min(samples[mode]), "max": max(samples[mode]), "ratio": base / ops})
            print(f"  {workload:18} {threads:>2} threads  {mode:8} {ops:>12,.0f} ops/s  "
                  f"(rounds {min(samples[mode]):,.0f}..{max(samples[mode]):,.0f})  time x{base / ops:.3f}", flush=True)
    return rows


def held_memory(classes: Path, scratch: Path, n: int = 100_000) -> float:
    """Agent heap bytes per held tracked object: the slope from 0 to n held, agent minus no agent."""
    def heap(held: int, agent: bool) -> float:
        # A tiny event buffer, so that the slope is the per-object state, not pending events.
        options = [f"-javaagent:{agent_jar()}=dir={scratch / 'agent-held'},max_events=16"] if agent else []
        out = subprocess.run([java(), *JVM_OPTIONS, *options, "-cp", str(classes), "AgentProbe", "held", str(held)],
                             capture_output=True, text=True, check=True).stdout
        return result(out, "heap_used")
    with_agent = heap(n, True) - heap(0, True)
    without = heap(n, False) - heap(0, False)
    per_object = (with_agent - without) / n
    print(f"  agent heap per held object: {per_object:.0f} bytes ({n:,} Inflaters held)", flush=True)
    return per_object


def pipeline(classes: Path, scratch: Path, n: int = 500_000) -> dict:
    """Events per second from the agent's memory to SQLite rows: the drain file, then the ingest."""
    agent_dir = scratch / "agent-pipeline"
    process = subprocess.Popen([java(), *JVM_OPTIONS, f"-javaagent:{agent_jar()}=dir={agent_dir},max_events={4 * n}",
                                "-cp", str(classes), "AgentProbe", "churn", str(n)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "ready"
        channel = AgentChannel.connect(agent_dir)
        drain_file = agent_dir / "bench.tsv"
        t0 = time.perf_counter()
        events = channel.drain(drain_file)["events"]
        t1 = time.perf_counter()
        with Store(scratch / "pipeline.db") as store:
            run = store.begin_run(channel.status(), process.pid)
            store.ingest_drain(run, drain_file)
        t2 = time.perf_counter()
        channel.close()
    finally:
        process.stdin.close()
        process.wait(30)
    figures = {"events": events, "drain_per_s": events / (t1 - t0), "ingest_per_s": events / (t2 - t1),
               "end_to_end_per_s": events / (t2 - t0)}
    print(f"  agent to SQLite: {events:,} events; drain file {figures['drain_per_s']:,.0f}/s, "
          f"ingest {figures['ingest_per_s']:,.0f}/s, end to end {figures['end_to_end_per_s']:,.0f}/s", flush=True)
    return figures


def attach(classes: Path, scratch: Path) -> dict:
    """Attach to a JVM that has loaded many classes: time to the first recorded object, and the
    longest gap in a thread ticking every millisecond meanwhile (the retransformation stop)."""
    process = subprocess.Popen([java(), *JVM_OPTIONS, "-cp", str(classes), "AgentProbe", "ticking"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        loaded = int(process.stdout.readline().split()[1])
        assert process.stdout.readline().strip() == "ready"
        time.sleep(1)
        process.stdin.write("\n")
        process.stdin.flush()
        quiet_gap = result(process.stdout.readline(), "max_gap_ms")
        agent_dir = scratch / "agent-attach"
        t0 = time.perf_counter()
        attach_agent(process.pid, {"dir": str(agent_dir)})
        t_attached = time.perf_counter()
        channel = AgentChannel.connect(agent_dir)
        while channel.status()["pending_events"] == 0:
            time.sleep(0.005)
        t_first = time.perf_counter()
        channel.close()
        process.stdin.write("\n")
        process.stdin.flush()
        gap = result(process.stdout.readline(), "max_gap_ms")
    finally:
        process.stdin.close()
        process.wait(30)
    figures = {"classes_loaded": loaded, "attach_s": t_attached - t0, "first_object_s": t_first - t0,
               "max_gap_ms": gap, "max_gap_before_ms": quiet_gap}
    print(f"  attach to a JVM with {loaded:,} classes loaded: agent loaded in {figures['attach_s']:.2f} s, first "
          f"object recorded {figures['first_object_s']:.2f} s after the attach began; longest stop of a 1 ms ticker "
          f"{gap:.0f} ms (before attaching: {quiet_gap:.0f} ms)", flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="JVM runs per workload and mode (median taken)")
    parser.add_argument("--seconds", type=float, default=5, help="measured seconds per JVM run")
    parser.add_argument("--warmup", type=float, default=3, help="warm-up seconds per JVM run")
    parser.add_argument("--quick", action="store_true", help="1 round of 2 s: a look, not a measurement")
    parser.add_argument("--only", choices=["throughput", "memory", "pipeline", "attach"], action="append")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds, args.warmup = 1, 2, 1
    parts = args.only or ["throughput", "memory", "pipeline", "attach"]
    print(f"unclosed benchmarks: {subprocess.run([java(), '-version'], capture_output=True, text=True).stderr.splitlines()[0]}"
          f", {os.cpu_count()} cores, {args.rounds} round(s) of {args.warmup:g}+{args.seconds:g} s", flush=True)
    with tempfile.TemporaryDirectory(prefix="unclosed-bench-") as scratch:
        scratch = Path(scratch)
        classes = compile_bench(scratch / "classes")
        if "throughput" in parts:
            print("throughput (time x: wall time per operation relative to no agent):")
            throughput(classes, scratch, args.rounds, args.warmup, args.seconds)
        if "memory" in parts:
            held_memory(classes, scratch)
        if "pipeline" in parts:
            pipeline(classes, scratch)
        if "attach" in parts:
            attach(classes, scratch)


if __name__ == "__main__":
    main()
