"""The breakdown of a JVM's RSS, from the figures gather.py collects (pure): each component
counted once (see OVERLAPS), the remainder nobody accounts for, hints drawn from the evidence;
and over samples, which component grows."""

from ..units import MIB, mib

# A remainder at least this big (and 10% of RSS) is worth a hint.
BIG_REMAINDER = 32 * MIB

# Families of tracked objects whose memory a JVM figure already counts (not added again).
FAMILY_INSIDE = {"direct": "direct_buffers"}

OVERLAPS = [
    "Java heap, code cache and thread stacks are resident pages of their own mappings; the heap's "
    "committed size is larger when not all of it was touched (untouched pages cost nothing).",
    "metaspace is committed memory (it lives in anonymous mappings of its own).",
    "direct buffers are malloc'd native memory: in 'malloc arenas' or 'other anonymous' below, and "
    "with NMT inside its 'Other' category (counted once, as direct buffers).",
    "JVM native (NMT) leaves out what is counted above: the heap, metaspace and code cache "
    "mappings, thread stacks, the CDS archive (a mapped file) and the direct buffers in 'Other'.",
    "zlib memory (Inflater/Deflater) is plain malloc, tracked by neither NMT nor any pool: our "
    "figure is added on top (an estimate per object); unclosed's 'direct' family is inside the "
    "direct buffer pool and is not added again.",
    "the remainder is malloc'd memory nobody tracks (JNI libraries, untracked zlib, freed memory "
    "malloc keeps) and the JVM's own native memory when NMT is off.",
    "cgroup figures cover every process in the cgroup, and count page cache (file) that is not "
    "in any process's RSS.",
]


# NMT categories whose memory the breakdown counts elsewhere, and how much of it: "mmap" (their
# mappings are heap/metaspace/code cache, measured there), "stack", or "all".
NMT_COUNTED_ELSEWHERE = {
    "Java Heap": "all",
    "Class": "mmap",  # class space: in metaspace
    "Metaspace": "mmap",
    "Code": "mmap",
    "Thread": "stack",
    "Shared class space": "all",  # the CDS archive: a mapped file
}


def unsafe_category(feature: int | None) -> str:
    """The NMT category of Unsafe.allocateMemory, so of direct buffers: Internal before JDK 11."""
    return "Internal" if feature is not None and feature < 11 else "Other"


def account(report: dict) -> dict:
    """The breakdown of `report`'s RSS (pure: from the gathered figures): {"rss", "breakdown":
    [{"component", "label", "bytes", "basis", "detail"}], "remainder", "hints", "overlaps"}.
    The components and the remainder add up to rss (the sum of /proc/PID/smaps)."""
    rss = report["os"]["smaps_rss"]
    jvm, ours, regions = report["jvm"], report["ours"], report["regions"]
    rows = []

    def add(component, label, value, basis, detail=""):
        rows.append({"component": component, "label": label, "bytes": int(value), "basis": basis, "detail": detail})

    heap = jvm.get("heap")
    if heap:
        add("java_heap", "Java heap", regions["java_heap"], "resident",
            f"used {mib(heap['used'])}, committed {mib(heap['committed'])}, max {mib(heap.get('max'))} ({heap.get('gc')})")
    else:
        add("java_heap", "Java heap", regions["java_heap"], "resident", "GC.heap_info unavailable: heap range unknown")
    meta = jvm.get("metaspace")
    if meta and meta.get("committed") is not None:
        add("metaspace", "metaspace + class space", meta["committed"], "committed",
            f"used {mib(meta.get('used'))}, reserved {mib(meta.get('reserved'))}")
    code = jvm.get("code_cache")
    add("code_cache", "code cache", regions["code_cache"], "resident",
        f"used {mib(code['used'])}, committed {mib(code['committed'])}, reserved {mib(code['reserved'])}" if code else "")
    threads = jvm["threads"]
    add("thread_stacks", "thread stacks", regions["thread_stacks"], "resident",
        f"{threads['count']} threads x {mib(threads['stack_size'])} = {mib(threads['reserved'])} reserved"
        if threads.get("reserved") else f"{threads.get('count')} threads")

    nmt = jvm.get("nmt")
    feature = report["java"].get("feature")
    pools = jvm.get("buffer_pools") or {}
    direct = pools.get("direct")
    unsafe_cat = unsafe_category(feature)
    gc_scaled = False
    if nmt:
        parts = {}
        for name, cat in nmt["categories"].items():
            elsewhere = NMT_COUNTED_ELSEWHERE.get(name)
            if elsewhere == "all":
                continue
            value = cat["committed"]
            if elsewhere == "mmap":
                value -= cat["mmap_committed"]
            elif elsewhere == "stack":
                value -= cat["stack_committed"]
            if name == unsafe_cat:
                value -= direct["used"] if direct else cat["malloc"]  # counted as direct buffers below
            if name == "GC" and heap and heap["committed"]:
                # The GC's mappings (card table, mark bitmaps, offset tables) follow the heap's
                # regions, committed with them and touched as they are: as resident as the heap.
                touched = min(1.0, regions["java_heap"] / heap["committed"])
                value -= int(cat["mmap_committed"] * (1 - touched))
                gc_scaled = True
            if value > 0:
                parts[name] = value
        top = sorted(parts.items(), key=lambda kv: -kv[1])[:4]
        add("jvm_native", "JVM native (NMT)", sum(parts.values()), "committed",
            ", ".join(f"{name} {mib(v)}" for name, v in top) + (" (GC mappings as resident as the heap)" if gc_scaled else ""))
    if direct:
        add("direct_buffers", "direct buffers", direct["used"], "pool",
            f"{direct['count']} buffers, capacity {mib(direct['capacity'])} (BufferPoolMXBean via the agent)")
    elif nmt:  # a category under 1 KB is left out of NMT's summary
        add("direct_buffers", f"direct buffers + Unsafe (NMT {unsafe_cat})",
            nmt["categories"].get(unsafe_cat, {}).get("malloc", 0),
            "committed", f"NMT's {unsafe_cat} malloc: direct buffers and other Unsafe.allocateMemory")
    add("files", "mapped files: libraries, CDS, jars", regions["files"] + regions["special"], "resident",
        _mapped_detail(pools))

    for family, figures in sorted((ours.get("families") or {}).items()):
        inside = FAMILY_INSIDE.get(family)
        if inside:
            continue  # shown in the notes of the component that holds it
        held_bytes = figures.get("bytes_held") or 0
        label = f"{family} objects held (unclosed)" if family != "unknown" else "objects held (unclosed)"
        add(f"ours.{family}", label, held_bytes, "estimate", f"{figures.get('held', 0)} held")

    accounted = sum(r["bytes"] for r in rows)
    remainder = rss - accounted
    add("remainder", "remainder: nobody accounts for it", remainder, "", "")
    return {"rss": rss, "breakdown": rows, "remainder": remainder, "hints": hints(report, rows, remainder),
            "overlaps": OVERLAPS}


def _mapped_detail(pools: dict) -> str:
    mapped = pools.get("mapped")
    if mapped and mapped["count"]:
        return f"incl. {mapped['count']} mapped buffers of {mib(mapped['capacity'])} (capacity)"
    return ""


def hints(report: dict, rows: list[dict], remainder: int) -> list[str]:
    """What the evidence suggests, in words, most telling first."""
    out = []
    rss = report["os"]["smaps_rss"] or 0
    big = max(BIG_REMAINDER, rss // 10)
    arenas, allocator = report["arenas"], report["allocator"]
    pid = report["pid"]
    malloc_resident = report["regions"]["malloc_arenas"] + report["regions"]["malloc_brk"]
    if arenas["count"] > 2 and allocator["name"] == "glibc malloc" and (arenas["resident"] >= big or remainder >= big):
        setting = allocator.get("MALLOC_ARENA_MAX")
        lead = (f"{arenas['count']} glibc malloc arena heaps (64 MiB reservations each) hold {mib(arenas['resident'])} MiB "
                f"resident ({mib(malloc_resident)} MiB with the main heap)")
        if setting:
            out.append(f"{lead}; MALLOC_ARENA_MAX={setting} is set.")
        else:
            out.append(f"{lead}: each thread that mallocs may get its own arena, and freed memory stays in it. "
                       "Start the JVM with MALLOC_ARENA_MAX=2 (or jemalloc: LD_PRELOAD=libjemalloc.so.2) "
                       "and compare the remainder.")
    cg = report.get("cgroup")
    if cg and cg.get("working_set") is not None:
        # The working set is usage - inactive_file: anonymous memory of every process in the
        # cgroup, kernel memory, and the active page cache. Page cache is what lifts it far
        # above the processes' own memory.
        rss_like = max(cg.get("anon") or 0, report["os"].get("rss") or 0)
        over = cg["working_set"] - rss_like
        active_file = cg.get("active_file") or 0
        if over > max(128 * MIB, rss_like // 2) and active_file >= over // 2:
            share = f" ({cg['processes']} processes share the cgroup)" if (cg.get("processes") or 0) > 1 else ""
            out.append(f"the cgroup's working set ({mib(cg['working_set'])} MiB, what container_memory_working_set_bytes "
                       f"shows) is {mib(over)} MiB above the memory of its processes{share}: {mib(active_file)} MiB "
                       "of it is active page cache (files read or written more than once), which the kernel "
                       "reclaims under pressure; not a leak in the JVM.")
    nmt_on = report["jvm"].get("nmt") is not None
    if remainder >= big and not nmt_on:
        out.append(f"{mib(remainder)} MiB nobody accounts for, and NMT is off: start the JVM with "
                   "-XX:NativeMemoryTracking=summary to split the JVM's own native memory (GC structures, "
                   "compiler, symbols, threads).")
    elif remainder >= big:
        out.append(f"{mib(remainder)} MiB is outside NMT and the pools: malloc by JNI libraries or zlib, or freed "
                   f"memory malloc keeps (try `jcmd {pid} System.trim_native_heap` on JDK 17.0.9+/21+: what it "
                   "gives back was free).")
    if not report["ours"].get("agent"):
        out.append(f"no unclosed agent in JVM {pid}: native memory held by unclosed Inflaters, Deflaters and GZIP "
                   f"streams is in the remainder; `unclosed attach {pid}` (or --attach) tracks them from now on.")
    if report["jvm"].get("buffer_pools") is None and not nmt_on:
        out.append("the direct buffer pool is not known (no agent, NMT off): --attach reads it, and direct buffers "
                   "are in the remainder meanwhile.")
    heap = report["jvm"].get("heap")
    if heap and heap["committed"] - heap.get("resident", 0) > 256 * MIB:
        out.append(f"the heap has {mib(heap['committed'])} MiB committed but only {mib(heap['resident'])} MiB "
                   "resident: committed is not RSS until touched.")
    if remainder < -max(16 * MIB, rss // 20):
        out.append(f"the components add up to {mib(-remainder)} MiB more than the RSS: committed figures "
                   "(metaspace, NMT) are not all resident, or tracked objects were never touched.")
    return out


# -- over time -------------------------------------------------------------------------------------

def components(report: dict) -> dict[str, int]:
    """The figures of one sample worth following over time, by name (bytes)."""
    out = {"rss": report["rss"]}
    for row in report["breakdown"]:
        out[row["component"]] = row["bytes"]
    for key in ("rss_anon", "rss_file"):
        if report["os"].get(key) is not None:
            out[key] = report["os"][key]
    heap = report["jvm"].get("heap")
    if heap:
        out["heap_used"], out["heap_committed"] = heap["used"], heap["committed"]
    for key in ("malloc_arenas", "malloc_brk", "other_anon"):
        out[f"region.{key}"] = report["regions"][key]
    cg = report.get("cgroup")
    if cg:
        for key in ("usage", "working_set"):
            if cg.get(key) is not None:
                out[f"cgroup.{key}"] = cg[key]
    return out


LABELS = {"rss": "RSS", "rss_anon": "RSS anon", "rss_file": "RSS file", "heap_used": "heap used",
          "heap_committed": "heap committed", "region.malloc_arenas": "in malloc arenas",
          "region.malloc_brk": "in malloc main heap", "region.other_anon": "in other anonymous",
          "cgroup.usage": "cgroup usage", "cgroup.working_set": "cgroup working set"}


def growth(samples: list[dict], columns: int = 6) -> dict:
    """Which component grows: {"times": [uptime_s per column], "rows": [{"component", "label",
    "values", "change"}]} over up to `columns` samples spread from the first to the last; RSS
    first, then the breakdown's components by how much they grew."""
    if not samples:
        return {"times": [], "rows": []}
    k = max(1, min(columns, len(samples)))
    picks = sorted({round(i * (len(samples) - 1) / max(1, k - 1)) for i in range(k)})
    chosen = [samples[i] for i in picks]
    labels = {r["component"]: r["label"] for s in samples for r in s["breakdown"]}
    figures = [components(s) for s in chosen]
    names = list(dict.fromkeys(name for f in figures for name in f))
    rows = []
    for name in names:
        # a component of the breakdown missing from a sample had nothing to count then
        values = [f.get(name, 0 if name in labels else None) for f in figures]
        known = [v for v in values if v is not None]
        change = known[-1] - known[0] if len(known) >= 2 else 0
        rows.append({"component": name, "label": LABELS.get(name, labels.get(name, name)), "values": values,
                     "change": change})
    breakdown_names = set(labels)
    rss = [r for r in rows if r["component"] == "rss"]
    parts = sorted((r for r in rows if r["component"] in breakdown_names), key=lambda r: -r["change"])
    rest = [r for r in rows if r["component"] not in breakdown_names and r["component"] != "rss"]
    return {"times": [s.get("uptime_s") for s in chosen], "rows": rss + parts + rest}
