"""`unclosed explain` without a JVM: its parsers on sample files (cgroup v1 and v2 layouts, /proc
maps, jcmd output of JDK 17 and 25), the breakdown and its growth on synthetic figures, the
samples in the database, and the command's errors (real JVMs: tests/jvm/test_explain.py)."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from helpers.cli import cli
from unclosed import Store
from unclosed.explain.accounting import account, components, growth
from unclosed.explain.cgroup import cgroup_memory, locate_memory_cgroup
from unclosed.explain.jcmd import (parse_codecache, parse_flags, parse_heap_info, parse_metaspace, parse_nmt,
                                   parse_properties)
from unclosed.explain.proc import classify_mappings, find_arenas, find_stacks, parse_maps, parse_status
from unclosed.renderers.explain import render_growth, render_text
from unclosed.units import GIB, MIB

DATA = Path(__file__).parents[1] / "data"


def test_cli_errors(tmp_path):
    done = cli("explain", "999999999", check=False)
    assert done.returncode == 1 and "no process with pid 999999999" in done.stderr
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        done = cli("explain", sleeper.pid, check=False)
    finally:
        sleeper.kill()
        sleeper.wait()
    assert done.returncode == 1 and f"process {sleeper.pid} (sleep) is not a Java VM" in done.stderr
    done = cli("explain", "1", "--count", "2", check=False)
    assert done.returncode == 2 and "--count needs --watch" in done.stderr
    assert "unclosed explain 12345" in cli("explain", "--help").stdout


# -- the database ---------------------------------------------------------------------------------

def test_memory_samples_are_kept_per_pid_in_time_order(tmp_path):
    db = tmp_path / "audit.db"
    with Store(db) as store:
        assert store.memory_samples() == []
        store.add_memory_samples(43, 1500, {"rss": 5 * MIB})  # another JVM's
        store.add_memory_samples(42, 1000, {"rss": 10 * MIB, "remainder": MIB})
        store.add_memory_samples(42, 2000, {"rss": 12 * MIB, "remainder": 3 * MIB})
    with Store(db, readonly=True) as store:
        rows = store.memory_samples(42)
        assert [(r["pid"], r["time_ms"]) for r in store.memory_samples()] == [(42, 1000), (42, 1000), (43, 1500),
                                                                              (42, 2000), (42, 2000)]
    assert [(r["time_ms"], r["component"], r["bytes"]) for r in rows] == [
        (1000, "remainder", MIB), (1000, "rss", 10 * MIB), (2000, "remainder", 3 * MIB), (2000, "rss", 12 * MIB)]


# -- cgroup samples -------------------------------------------------------------------------------

def _sample(layout: str):
    root = DATA / "cgroup" / layout

    def exists(path):
        return (root / path.lstrip("/")).exists()

    def reader(directory):
        def read(name):
            path = root / directory.lstrip("/") / name
            return path.read_text() if path.exists() else None
        return read

    return root, exists, reader


def test_cgroup_v2_sample():
    root, exists, reader = _sample("v2")
    located = locate_memory_cgroup((root / "proc_cgroup").read_text(), (root / "mountinfo").read_text(), exists)
    assert located == (2, "/sys/fs/cgroup/system.slice/shop.service", "/system.slice/shop.service")
    figures = cgroup_memory(2, reader(located[1]))
    assert figures == {"usage": 641728512, "limit": 1073741824, "anon": 104857600, "file": 524288000,
                       "shmem": 1048576, "active_file": 104857600, "inactive_file": 419430400,
                       "working_set": 641728512 - 419430400, "processes": 2}


def test_cgroup_v1_sample_on_a_hybrid_layout():
    """v1's memory controller beside a unified (v2) hierarchy that has no memory controller: the
    v2 line of /proc/PID/cgroup leads nowhere, the v1 memory line does."""
    root, exists, reader = _sample("v1-hybrid")
    located = locate_memory_cgroup((root / "proc_cgroup").read_text(), (root / "mountinfo").read_text(), exists)
    path = "/process_api/ff54e1fffc771043a6be54a184593f58"
    assert located == (1, f"/sys/fs/cgroup/memory{path}", path)
    figures = cgroup_memory(1, reader(located[1]))
    assert figures["usage"] == 136966144 and figures["limit"] is None  # v1's "no limit" is a huge number
    # total_* (hierarchical) figures: rss is anon, cache is file
    assert (figures["anon"], figures["file"], figures["inactive_file"], figures["active_file"]) == (
        2080768, 133259264, 60112896, 73146368)
    assert figures["working_set"] == 136966144 - 60112896 and figures["processes"] == 3


def test_cgroup_paths_inside_containers():
    # cgroup namespace: the process sees itself at its cgroup's root
    mountinfo = "30 25 0:26 / /sys/fs/cgroup ro,nosuid - cgroup2 cgroup2 rw\n"
    assert locate_memory_cgroup("0::/\n", mountinfo, lambda p: p == "/sys/fs/cgroup/memory.current") == (
        2, "/sys/fs/cgroup", "/")
    # v1 without a cgroup namespace: the host's path, and the container's mount of that cgroup
    mountinfo = "40 31 0:32 /docker/abc123 /sys/fs/cgroup/memory ro,nosuid - cgroup cgroup rw,memory\n"
    assert locate_memory_cgroup("4:memory:/docker/abc123\n", mountinfo,
                                lambda p: p == "/sys/fs/cgroup/memory/memory.usage_in_bytes") == (
        1, "/sys/fs/cgroup/memory", "/docker/abc123")
    assert locate_memory_cgroup("0::/x\n", "", os.path.exists) is None


# -- /proc maps -----------------------------------------------------------------------------------

def test_arenas_and_stacks_in_a_sample_maps_file():
    """/proc/PID/maps of a JDK 17 JVM after 16 threads made Deflaters (libraries left out)."""
    mappings = sorted(parse_maps((DATA / "maps" / "jvm-arenas.maps").read_text()), key=lambda m: m.start)
    arenas = find_arenas(mappings)
    assert len(arenas) == 17
    for rw, tail in arenas.items():
        size = mappings[rw].size + (mappings[tail].size if tail >= 0 else 0)
        assert size == 64 * MIB and mappings[rw].perms == "rw-p"
    stacks = find_stacks(mappings, {MIB, 8 * MIB}, set(arenas) | set(arenas.values()))
    assert len(stacks) == 38  # 23 threads, and the stacks of exited ones glibc keeps for reuse
    assert all(mappings[i].size in (MIB, MIB - 16 * 1024) for i in stacks)
    # the heap's reservation holds 64 MiB-aligned pieces too: inside the heap range, never an arena
    heap = (0xf8000000, 0x100000000)
    assert not any(heap[0] <= mappings[i].start < heap[1] for i in arenas)


SMAPS = """\
f8000000-fa000000 rw-p 00000000 00:00 0
Rss:               30720 kB
fa000000-100000000 ---p 00000000 00:00 0
Rss:                   0 kB
55ad693b9000-55ad69400000 rw-p 00000000 00:00 0                          [heap]
Rss:                 200 kB
7fbbf0000000-7fbbf002f000 rw-p 00000000 00:00 0
Rss:                 188 kB
7fbbf002f000-7fbbf4000000 ---p 00000000 00:00 0
Rss:                   0 kB
7fbc1c000000-7fbc1c010000 rw-p 00000000 00:00 0
Rss:                  64 kB
7fbc700f8000-7fbc700fc000 ---p 00000000 00:00 0
Rss:                   0 kB
7fbc700fc000-7fbc701f8000 rw-p 00000000 00:00 0
Rss:                  96 kB
7fbc81400000-7fbc81670000 rwxp 00000000 00:00 0
Rss:                2048 kB
7fbc9a000000-7fbc9b000000 r-xp 00000000 fe:00 315100                     /usr/lib/jvm/java-17-openjdk-amd64/lib/server/libjvm.so
Rss:               12000 kB
Anonymous:             0 kB
7ffc3cc09000-7ffc3cc2a000 rw-p 00000000 00:00 0                          [stack]
Rss:                  12 kB
7ffc3cd6b000-7ffc3cd6d000 r-xp 00000000 00:00 0                          [vdso]
Rss:                   4 kB
"""


def test_every_resident_page_goes_to_one_region():
    mappings = parse_maps(SMAPS)
    result = classify_mappings(mappings, heap_ranges=[(0xf8000000, 0x100000000)],
                               code_ranges=[(0x7fbc81400000, 0x7fbc88938000)], stack_sizes={MIB})
    regions = result["regions"]
    assert regions == {"java_heap": 30720 * 1024, "code_cache": 2048 * 1024, "thread_stacks": (96 + 12) * 1024,
                       "malloc_arenas": 188 * 1024, "malloc_brk": 200 * 1024, "other_anon": 64 * 1024,
                       "files": 12000 * 1024, "special": 4 * 1024}
    assert sum(regions.values()) == result["total"] == sum(m.rss for m in mappings)
    assert result["arenas"]["count"] == 1 and result["stacks"] == 2


def test_proc_status():
    status = parse_status("Name:\tjava\nVmRSS:\t  243988 kB\nRssAnon:\t  223368 kB\nRssFile:\t   20620 kB\n"
                          "RssShmem:\t       0 kB\nVmSwap:\t       0 kB\nThreads:\t20\n")
    assert status == {"VmRSS": 243988 * 1024, "RssAnon": 223368 * 1024, "RssFile": 20620 * 1024, "RssShmem": 0,
                      "VmSwap": 0, "Threads": 20}


# -- jcmd output of JDK 17 and 25 -----------------------------------------------------------------

@pytest.mark.parametrize("gc,version", [(gc, v) for gc in ("G1", "Parallel", "Serial", "Shenandoah", "Z")
                                        for v in (17, 25)])
def test_heap_info_of_every_collector(gc, version):
    heap = parse_heap_info((DATA / "jcmd" / f"heap_info-{gc}-{version}.txt").read_text())
    assert 360 * MIB <= heap["committed"] <= 400 * MIB and 0 < heap["used"] < 16 * MIB
    if gc == "Z":
        assert heap["ranges"] == []  # a memfd named java_heap tells ZGC's heap
    else:
        assert heap["ranges"] == [(0xE0000000, 0x100000000)]  # -Xmx512m below 4 GiB


@pytest.mark.parametrize("version", [17, 25])
def test_codecache_metaspace_and_nmt_samples(version):
    code = parse_codecache((DATA / "jcmd" / f"Compiler_codecache-{version}.txt").read_text())
    assert code["reserved"] == pytest.approx(240 * MIB, abs=MIB) and 0 < code["committed"] < 16 * MIB
    assert len(code["ranges"]) == 1  # three adjacent code heaps, merged
    meta = parse_metaspace((DATA / "jcmd" / f"VM_metaspace-{version}.txt").read_text())
    assert meta["committed"] == 320 * 1024 and 0 < meta["used"] < meta["committed"]
    nmt = parse_nmt((DATA / "jcmd" / f"VM_native_memory-{version}.txt").read_text())
    categories = nmt["categories"]
    assert abs(sum(c["committed"] for c in categories.values()) - nmt["committed"]) <= 32 * 1024
    thread = categories["Thread"]
    assert thread["committed"] == pytest.approx(thread["stack_committed"] + thread["malloc"] + thread["arena"], abs=2048)
    assert categories["Class"]["mmap_committed"] + categories["Metaspace"]["mmap_committed"] == meta["committed"]
    assert parse_nmt("Native memory tracking is not enabled") is None


def test_flags_and_properties():
    flags = parse_flags("     intx ThreadStackSize                          = 1024                                   "
                        "{pd product} {default}\n    ccstr NativeMemoryTracking                     = summary"
                        "                                   {product} {command line}\n")
    assert flags == {"ThreadStackSize": "1024", "NativeMemoryTracking": "summary"}
    assert parse_flags("-XX:NativeMemoryTracking=detail -XX:+UseG1GC")["UseG1GC"] == "true"
    props = parse_properties("#Mon Nov 23\nunclosed.dir=/tmp/unclosed-1\npath.separator=\\:\n"
                             "java.vendor.url=https\\://x.org/\nkey\\=with=eq\\u00e9\n")
    assert props == {"unclosed.dir": "/tmp/unclosed-1", "path.separator": ":", "java.vendor.url": "https://x.org/",
                     "key=with": "eq\u00e9"}


# -- the breakdown, on synthetic figures ----------------------------------------------------------

def _report(**overrides) -> dict:
    """A report as explain() gathers it, before account(): an 840 MiB JVM, NMT on, direct buffers
    known from the pool and inside NMT's Other, the agent holding zlib and direct objects; 5 MiB
    that nobody accounts for, and nothing to hint at."""
    report = {
        "pid": 7, "time_ms": 0, "uptime_s": 60, "java": {"feature": 17},
        "os": {"smaps_rss": 840 * MIB, "rss": 840 * MIB, "rss_anon": 750 * MIB},
        "cgroup": None,
        "jvm": {
            "heap": {"used": 200 * MIB, "committed": 512 * MIB, "max": 512 * MIB, "gc": "G1", "resident": 400 * MIB},
            "metaspace": {"used": 40 * MIB, "committed": 50 * MIB, "reserved": GIB},
            "code_cache": {"used": 20 * MIB, "committed": 30 * MIB, "reserved": 240 * MIB},
            "threads": {"count": 50, "stack_size": MIB, "reserved": 50 * MIB},
            "buffer_pools": {"direct": {"count": 100, "used": 100 * MIB, "capacity": 100 * MIB}},
            "nmt": {"committed": None, "categories": {
                "Java Heap": _cat(512, mmap=512),
                "Class": _cat(11, malloc=1, mmap=10),
                "Metaspace": _cat(40, mmap=40),
                "Code": _cat(32, malloc=2, mmap=30),
                "Thread": _cat(13, malloc=1, arena=2, stack=10),
                "GC": _cat(70, malloc=6, mmap=64),
                "Other": _cat(101, malloc=101),
                "Symbol": _cat(8, malloc=8),
                "Shared class space": _cat(12, mmap=12),
            }},
        },
        "ours": {"agent": True, "families": {"zlib": {"held": 400, "bytes_held": 100 * MIB},
                                             "direct": {"held": 90, "bytes_held": 90 * MIB}}},
        "regions": {"java_heap": 400 * MIB, "code_cache": 25 * MIB, "thread_stacks": 5 * MIB, "malloc_arenas": 300 * MIB,
                    "malloc_brk": 10 * MIB, "other_anon": 16 * MIB, "files": 84 * MIB, "special": 0},
        "arenas": {"count": 2, "resident": 300 * MIB, "reserved": 2 * 64 * MIB},
        "allocator": {"name": "glibc malloc", "MALLOC_ARENA_MAX": None},
        "notes": [],
    }
    report.update(overrides)
    return report



def _cat(committed, malloc=0, arena=0, mmap=0, stack=0):
    return {"reserved": committed * MIB, "committed": committed * MIB, "malloc": malloc * MIB, "arena": arena * MIB,
            "mmap_committed": mmap * MIB, "stack_committed": stack * MIB}


def test_the_breakdown_counts_nothing_twice():
    report = _report()
    result = account(report)
    rows = {r["component"]: r["bytes"] for r in result["breakdown"]}
    assert rows["java_heap"] == 400 * MIB and rows["metaspace"] == 50 * MIB and rows["code_cache"] == 25 * MIB
    assert rows["thread_stacks"] == 5 * MIB
    assert rows["direct_buffers"] == 100 * MIB
    # NMT without the heap, metaspace, code cache and stack mappings, the CDS archive and the
    # direct buffers inside Other; the GC's mappings as resident as the heap (400 of 512 MiB)
    gc = 6 * MIB + int(64 * MIB * 400 / 512)
    assert rows["jvm_native"] == 1 * MIB + 2 * MIB + (1 + 2) * MIB + gc + 1 * MIB + 8 * MIB
    assert rows["ours.zlib"] == 100 * MIB and "ours.direct" not in rows  # inside the pool
    assert rows["files"] == 84 * MIB
    assert sum(rows.values()) == 840 * MIB
    assert result["remainder"] == rows["remainder"] == 5 * MIB


def test_without_the_pool_nmt_other_stands_for_direct_buffers():
    report = _report()
    report["jvm"]["buffer_pools"] = None
    rows = {r["component"]: r for r in account(report)["breakdown"]}
    assert rows["direct_buffers"]["bytes"] == 101 * MIB and "NMT Other" in rows["direct_buffers"]["label"]
    report["java"]["feature"] = 8  # Unsafe memory was NMT's Internal before JDK 11
    report["jvm"]["nmt"]["categories"]["Internal"] = _cat(30, malloc=30)
    rows = {r["component"]: r for r in account(report)["breakdown"]}
    assert rows["direct_buffers"]["bytes"] == 30 * MIB and "NMT Internal" in rows["direct_buffers"]["label"]


def test_hints_follow_the_evidence():
    quiet = account(_report())
    assert quiet["hints"] == []

    arenas = _report(arenas={"count": 16, "resident": 600 * MIB, "reserved": 16 * 64 * MIB})
    arenas["jvm"]["nmt"] = None
    arenas["os"] = dict(arenas["os"], smaps_rss=1200 * MIB)
    hints = account(arenas)["hints"]
    assert any("16 glibc malloc arena heaps" in h and "600.0 MiB" in h and "MALLOC_ARENA_MAX=2" in h for h in hints)
    assert any("-XX:NativeMemoryTracking=summary" in h for h in hints)

    set_already = _report(arenas={"count": 16, "resident": 600 * MIB, "reserved": 0},
                          allocator={"name": "glibc malloc", "MALLOC_ARENA_MAX": "4"})
    assert any("MALLOC_ARENA_MAX=4 is set" in h for h in account(set_already)["hints"])
    jemalloc = _report(arenas={"count": 16, "resident": 600 * MIB, "reserved": 0},
                       allocator={"name": "jemalloc", "MALLOC_ARENA_MAX": None})
    assert not any("arena" in h for h in account(jemalloc)["hints"])

    cache = _report(cgroup={"version": 2, "path": "/", "usage": 3 * GIB, "anon": 1000 * MIB, "active_file": 1800 * MIB,
                            "inactive_file": 100 * MIB, "working_set": 3 * GIB - 100 * MIB, "processes": 1})
    assert any("active page cache" in h and "working set" in h for h in account(cache)["hints"])

    no_agent = _report(ours={"agent": False})
    assert any("unclosed attach 7" in h for h in account(no_agent)["hints"])


def test_growth_names_the_component_that_grows():
    def sample(t, remainder):
        report = _report(time_ms=t * 1000, uptime_s=t)
        report["os"] = dict(report["os"], smaps_rss=840 * MIB + remainder)
        report.update(account(report))
        return report

    samples = [sample(60, 0), sample(3660, 20 * MIB), sample(10860, 60 * MIB)]
    table = growth(samples)
    assert table["times"] == [60, 3660, 10860]
    assert [r["component"] for r in table["rows"][:2]] == ["rss", "remainder"]
    assert table["rows"][1]["change"] == 60 * MIB
    text = render_growth(samples)
    assert "up 1m00s" in text and "up 1h01m" in text and "up 3h01m" in text
    assert "<- grows most" in [line for line in text.splitlines() if "remainder" in line][0]
    assert components(samples[0])["rss"] == 840 * MIB
    assert "Where the RSS goes" in render_text({**samples[0], "regions": samples[0]["regions"],
                                                "jvm": dict(samples[0]["jvm"], nmt_mode="summary",
                                                            max_direct_memory=None, flags={})})
