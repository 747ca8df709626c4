"""Gathering one report on a running JVM (`unclosed explain`): the OS view (/proc, the memory
cgroup), the JVM view (its jcmd; its buffer pools through the agent's channel) and our view (what
the unclosed agent holds), then the breakdown that adds up (accounting.py). Over time: `watch`."""

import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..attach import agent_dir_of, attach_agent, check_target, process_alive
from ..channel import AgentChannel
from ..errors import UnclosedError
from ..units import KIB, MIB
from .accounting import account, components
from .cgroup import read_cgroup
from .jcmd import (find_jcmd, parse_codecache, parse_flags, parse_heap_info, parse_metaspace, parse_nmt,
                   parse_properties, run_jcmd, target_java_home)
from .proc import (allocator, classify_mappings, parse_maps, parse_smaps_rollup, parse_stack_limit, parse_status,
                   read_text, uptime_s)

FLAGS_KEPT = ("NativeMemoryTracking", "ThreadStackSize", "VMThreadStackSize", "CompilerThreadStackSize",
              "MaxHeapSize", "MaxDirectMemorySize")


def explain(pid: int, *, attach: bool = False, store=None, run_id: int | None = None, flags: dict | None = None) -> dict:
    """One report on JVM `pid`: the OS, JVM and unclosed views, the breakdown of its RSS that
    adds up (components + remainder = RSS), where it lives by mapping, hints and overlaps.

    `attach` loads the unclosed agent first when none is loaded; `store` (a Store) lets the
    agent's held bytes be split by family (one drain, ingested into run `run_id`, or a new run).
    `flags` reuses VM.flags of an earlier sample."""
    pid = int(pid)
    check_target(pid)  # no such process, another user's, not a JVM: one clear error
    attached_dir = None
    if attach:  # first, so that everything below sees the JVM with its agent
        attached_dir = str(attach_agent(pid))  # the loaded agent's, when there is one
    notes: list[str] = []
    time_ms = int(time.time() * 1000)
    jcmd, note = find_jcmd(pid)
    if note:
        notes.append(note)

    commands = {"props": ["VM.system_properties"], "heap": ["GC.heap_info"], "code": ["Compiler.codecache"],
                "meta": ["VM.metaspace"]}
    if flags is None:
        commands["flags"] = ["VM.flags", "-all"]
    outputs: dict[str, str] = {}
    if jcmd:
        with ThreadPoolExecutor(max_workers=3) as pool:
            futures = {key: pool.submit(run_jcmd, jcmd, pid, *cmd) for key, cmd in commands.items()}
            for key, future in futures.items():
                ok, text = future.result()
                if ok:
                    outputs[key] = text
                else:
                    notes.append(text)
    flags = flags if flags is not None else parse_flags(outputs.get("flags", ""))
    nmt_mode = flags.get("NativeMemoryTracking", "off")
    nmt = None
    if jcmd and nmt_mode not in ("off", ""):
        ok, text = run_jcmd(jcmd, pid, "VM.native_memory", "summary")
        nmt = parse_nmt(text) if ok else None
        if not ok:
            notes.append(text)

    # The OS view, read right after jcmd so that the JVM's figures and the pages match.
    status = parse_status(read_text(f"/proc/{pid}/status") or "")
    rollup = parse_smaps_rollup(read_text(f"/proc/{pid}/smaps_rollup") or "")
    smaps_text = read_text(f"/proc/{pid}/smaps")
    if smaps_text is None:
        raise UnclosedError(f"cannot read /proc/{pid}/smaps (did JVM {pid} exit?)")
    mappings = parse_maps(smaps_text)
    stack_limit = parse_stack_limit(read_text(f"/proc/{pid}/limits") or "")

    props = parse_properties(outputs.get("props", ""))
    heap = parse_heap_info(outputs.get("heap", ""))
    code = parse_codecache(outputs.get("code", ""))
    meta = parse_metaspace(outputs.get("meta", "")) or parse_metaspace(outputs.get("heap", ""))

    stack_sizes = {8 * MIB}
    if stack_limit:
        stack_sizes.add(stack_limit)
    for flag in ("ThreadStackSize", "VMThreadStackSize", "CompilerThreadStackSize"):
        value = flags.get(flag, "")
        if value.isdigit() and int(value) > 0:
            stack_sizes.add(int(value) * KIB)
    regions = classify_mappings(mappings, heap.get("ranges", ()), code.get("ranges", ()), stack_sizes)

    agent_dir = props.get("unclosed.dir") or attached_dir
    if "props" not in outputs and agent_dir is None:  # jcmd failed: ask through the Attach API instead
        try:
            found = agent_dir_of(pid)
            agent_dir = None if found is None else str(found)
        except UnclosedError as e:
            notes.append(f"cannot tell whether an unclosed agent is loaded: {e}")
    ours = our_view(pid, agent_dir, store=store, run_id=run_id)

    threads = status.get("Threads")
    stack_size = int(flags["ThreadStackSize"]) * KIB if flags.get("ThreadStackSize", "").isdigit() else None
    version = props.get("java.specification.version", "")
    feature = int(version.split(".")[-1]) if version.replace(".", "").isdigit() else None
    report = {
        "pid": pid,
        "time_ms": time_ms,
        "uptime_s": uptime_s(pid),
        "java": {"home": str(target_java_home(pid) or ""), "version": props.get("java.runtime.version") or props.get("java.version"),
                 "vm": props.get("java.vm.name"), "feature": feature, "jcmd": jcmd},
        "os": {
            "rss": status.get("VmRSS"), "rss_anon": status.get("RssAnon"), "rss_file": status.get("RssFile"),
            "rss_shmem": status.get("RssShmem"), "swap": status.get("VmSwap"), "pss": rollup.get("Pss"),
            "smaps_rss": regions["total"], "threads": threads,
        },
        "cgroup": read_cgroup(pid),
        "jvm": {
            "heap": dict(heap, ranges=[[hex(lo), hex(hi)] for lo, hi in heap.get("ranges", [])],
                         max=_int(flags.get("MaxHeapSize")), resident=regions["regions"]["java_heap"]) if heap else None,
            "metaspace": meta or None,
            "code_cache": dict(code, ranges=[[hex(lo), hex(hi)] for lo, hi in code.get("ranges", [])],
                               resident=regions["regions"]["code_cache"]) if code else None,
            "threads": {"count": threads, "stack_size": stack_size,
                        "reserved": threads * stack_size if threads and stack_size else None,
                        "resident": regions["regions"]["thread_stacks"], "stacks_found": regions["stacks"]},
            "buffer_pools": ours.get("buffer_pools"),
            "max_direct_memory": _int(flags.get("MaxDirectMemorySize")),
            "nmt_mode": nmt_mode,
            "nmt": nmt,
            "flags": {k: flags[k] for k in FLAGS_KEPT if k in flags},
        },
        "ours": {k: v for k, v in ours.items() if k != "buffer_pools"},
        "regions": regions["regions"],
        "arenas": regions["arenas"],
        "allocator": allocator(pid, mappings),
        "notes": notes,
    }
    report.update(account(report))
    return report


def _int(text) -> int | None:
    return int(text) if isinstance(text, str) and text.isdigit() else None


def our_view(pid: int, agent_dir: str | None, store=None, run_id: int | None = None) -> dict:
    """What the unclosed agent in JVM `pid` holds, per family. With a store, one drain is taken
    into run `run_id` (a new run labelled `explain` when None) to split the held bytes by family;
    without, the agent's status gives the total (drains consume events a `record` would miss)."""
    view = {"agent": False, "agent_dir": agent_dir}
    if agent_dir is None:
        return view
    channel = AgentChannel.connect(agent_dir, pid)
    try:
        status = channel.status()
        view.update(agent=True, held=status.get("held", 0), bytes_held=status.get("bytes_held", 0),
                    tracking_since_ms=status.get("tracking_since_ms"), mode=status.get("mode"))
        view["families"] = status["families"]
        if store is not None:
            # Beside the memory samples, the database keeps what the agent saw (a new run the
            # first time): the sites behind our figures.
            run_id = run_id or store.begin_run(status, pid, "explain")
            name = f"explain-{os.getpid()}.tsv"
            drain_file = Path(agent_dir) / name
            known = store.known(run_id)
            try:
                channel.drain(name, known["sites"], known["threads"], known["tests"], 0)
                store.ingest_drain(run_id, drain_file)
            finally:
                drain_file.unlink(missing_ok=True)
            view["run_id"] = run_id
        view["buffer_pools"] = channel.buffer_pools()
    finally:
        channel.close()
    return view


# -- over time -------------------------------------------------------------------------------------

def watch(pid: int, interval: float, count: int | None, *, attach: bool = False, store=None,
          on_sample=None) -> list[dict]:
    """Samples `explain(pid)` every `interval` seconds, `count` times (None: until Ctrl-C or the
    JVM exits); `on_sample(report, previous)` is called as each comes; with a store, each
    sample's components go into memory_samples. Returns the samples."""
    samples: list[dict] = []
    flags = None
    run_id = None
    started = time.monotonic()
    try:
        while count is None or len(samples) < count:
            if samples:
                until = started + len(samples) * interval
                while time.monotonic() < until:
                    time.sleep(min(0.2, until - time.monotonic()))
            try:
                report = explain(pid, attach=attach and not samples, store=store, run_id=run_id, flags=flags)
            except UnclosedError:
                if samples and not process_alive(pid):
                    break  # the JVM exited: what was sampled is the answer
                raise
            attach = False
            flags = report["jvm"]["flags"]
            run_id = report["ours"].get("run_id", run_id)
            if store is not None:
                store.add_memory_samples(pid, report["time_ms"], components(report), run_id)
            if on_sample:
                on_sample(report, samples[-1] if samples else None)
            samples.append(report)
    except KeyboardInterrupt:
        pass
    finally:
        if run_id is not None and store is not None:
            store.end_run(run_id, "complete")
    return samples


def explain_once(pid: int, *, attach: bool = False, store=None) -> dict:
    """One report; with a store, its components go into memory_samples too."""
    report = explain(pid, attach=attach, store=store)
    if store is not None:
        run_id = report["ours"].get("run_id")
        store.add_memory_samples(pid, report["time_ms"], components(report), run_id)
        if run_id is not None:
            store.end_run(run_id, "complete")
    return report
