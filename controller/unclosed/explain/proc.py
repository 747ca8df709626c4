"""/proc: a process's memory as the kernel sees it (status, smaps, limits, environ), and its
mappings sorted into regions (Java heap, thread stacks, malloc arenas, ...). The parsers are
pure, tested on sample files."""

import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..units import KIB, MIB

# A glibc malloc arena (other than the main one) lives in heaps of HEAP_MAX_SIZE, 64 MiB on
# 64-bit: reserved PROT_NONE, aligned to 64 MiB, made read-write as the arena grows.
ARENA_BYTES = 64 * MIB
# A thread stack's guard below it: glibc's guard page, or HotSpot's red/yellow/reserved zones.
MAX_GUARD_BYTES = 64 * KIB


def parse_status(text: str) -> dict:
    """/proc/PID/status: VmRSS, RssAnon, RssFile, RssShmem, VmSwap in bytes, and Threads."""
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        parts = value.split()
        if key in ("VmRSS", "RssAnon", "RssFile", "RssShmem", "VmSwap", "VmSize", "VmHWM") and parts:
            out[key] = int(parts[0]) * KIB
        elif key == "Threads" and parts:
            out[key] = int(parts[0])
    return out


def parse_smaps_rollup(text: str) -> dict:
    """/proc/PID/smaps_rollup: its `Name: N kB` fields, in bytes."""
    out = {}
    for line in text.splitlines():
        match = re.match(r"^(\w+):\s+(\d+) kB", line)
        if match:
            out[match[1]] = int(match[2]) * KIB
    return out


@dataclass
class Mapping:
    start: int
    end: int
    perms: str
    inode: int
    path: str
    rss: int = 0  # from smaps; 0 when parsed from maps
    anonymous: int = 0
    swap: int = 0

    @property
    def size(self) -> int:
        return self.end - self.start

    @property
    def anon(self) -> bool:
        """Not backed by a file (the brk heap and [stack] too, not [vdso] and such)."""
        return (self.inode == 0 and self.path in ("", "[heap]", "[stack]")) or self.path.startswith("[anon:")


_MAP_HEADER = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) (\S{4}) [0-9a-f]+ \S+ (\d+)\s*(.*)$")


def parse_maps(text: str) -> list[Mapping]:
    """/proc/PID/maps or /proc/PID/smaps (then with Rss, Anonymous, Swap per mapping)."""
    mappings: list[Mapping] = []
    current = None
    for line in text.splitlines():
        header = _MAP_HEADER.match(line)
        if header:
            current = Mapping(int(header[1], 16), int(header[2], 16), header[3], int(header[4]), header[5].strip())
            mappings.append(current)
            continue
        if current is None:
            continue
        key, _, value = line.partition(":")
        if key in ("Rss", "Anonymous", "Swap"):
            setattr(current, key.lower(), int(value.split()[0]) * KIB)
    return mappings


def parse_stack_limit(limits_text: str) -> int | None:
    """The soft `Max stack size` of /proc/PID/limits (the default pthread stack), in bytes."""
    match = re.search(r"^Max stack size\s+(\d+)", limits_text, re.M)
    return int(match[1]) if match else None


# -- mappings: where the resident pages are ---------------------------------------------------

REGIONS = {
    "java_heap": "Java heap",
    "code_cache": "code cache",
    "thread_stacks": "thread stacks",
    "malloc_arenas": "malloc arenas",
    "malloc_brk": "malloc main heap (brk)",
    "other_anon": "other anonymous",
    "files": "files (libraries, CDS archive, jars, mapped buffers)",
    "special": "kernel pages ([vdso] and such)",
}


def find_arenas(mappings: list[Mapping]) -> dict[int, int]:
    """The heaps of glibc malloc arenas, as {index of the read-write part: index of its reserved
    tail or -1}: an anonymous rw-p mapping followed by the ---p rest of its 64 MiB, or a whole
    64 MiB-aligned rw-p one. `mappings` in address order."""
    arenas = {}
    for i, m in enumerate(mappings):
        if not (m.anon and m.perms == "rw-p" and m.path == ""):
            continue
        nxt = mappings[i + 1] if i + 1 < len(mappings) else None
        if (nxt is not None and nxt.anon and nxt.path == "" and nxt.perms == "---p" and nxt.start == m.end
                and m.size + nxt.size == ARENA_BYTES):
            arenas[i] = i + 1
        elif m.size == ARENA_BYTES and m.start % ARENA_BYTES == 0:
            arenas[i] = -1
    return arenas


def find_stacks(mappings: list[Mapping], stack_sizes: set[int], taken: set[int] = frozenset()) -> set[int]:
    """Indexes of the read-write parts of thread stacks: an anonymous ---p guard (up to 64 KiB)
    right below an rw-p mapping whose size, with or without the guard, is a stack size."""
    stacks = set()
    for i in range(1, len(mappings)):
        m, guard = mappings[i], mappings[i - 1]
        if i in taken or not (m.anon and m.path == "" and m.perms == "rw-p"):
            continue
        if (guard.anon and guard.path == "" and guard.perms == "---p" and guard.end == m.start
                and guard.size <= MAX_GUARD_BYTES and (m.size in stack_sizes or m.size + guard.size in stack_sizes)):
            stacks.add(i)
    return stacks


def classify_mappings(mappings: list[Mapping], heap_ranges=(), code_ranges=(), stack_sizes=()) -> dict:
    """Puts every mapping in one region (REGIONS); returns {"regions": {region: resident bytes},
    "labels": [region per mapping], "arenas": {...}, "stacks": n, "total": resident bytes}.
    The regions add up to the total: each mapping counts once."""
    mappings = sorted(mappings, key=lambda m: m.start)
    arenas = find_arenas(mappings)
    arena_tails = {t for t in arenas.values() if t >= 0}
    stacks = find_stacks(mappings, set(stack_sizes), set(arenas) | arena_tails)

    def inside(m, ranges):
        return any(lo <= m.start < hi for lo, hi in ranges)

    labels = []
    for i, m in enumerate(mappings):
        if "java_heap" in m.path or inside(m, heap_ranges):
            label = "java_heap"  # ZGC's heap is a memfd named java_heap
        elif inside(m, code_ranges):
            label = "code_cache"
        elif m.inode != 0:
            label = "files"
        elif m.path == "[heap]":
            label = "malloc_brk"
        elif m.path == "[stack]" or i in stacks:
            label = "thread_stacks"
        elif i in arenas or i in arena_tails:
            label = "malloc_arenas"
        elif m.anon:
            label = "other_anon"
        elif m.path.startswith("/"):
            label = "files"  # a file mapped from a file system without inodes
        else:
            label = "special"
        labels.append(label)
    regions = dict.fromkeys(REGIONS, 0)
    for m, label in zip(mappings, labels):
        regions[label] += m.rss
    arena_resident = sum(mappings[i].rss for i in arenas)
    return {
        "regions": regions,
        "labels": labels,
        "mappings": mappings,
        "arenas": {"count": len(arenas), "resident": arena_resident, "reserved": len(arenas) * ARENA_BYTES},
        "stacks": len(stacks) + sum(1 for m in mappings if m.path == "[stack]"),
        "total": sum(m.rss for m in mappings),
    }


# -- reading a live process -----------------------------------------------------------------------

def read_text(path: str) -> str | None:
    """A /proc file's text, or None when it cannot be read (the process exited)."""
    try:
        return Path(path).read_text()
    except OSError:
        return None


def uptime_s(pid: int) -> float | None:
    """How long process `pid` has run, in seconds."""
    try:
        start_ticks = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
        return round(float(Path("/proc/uptime").read_text().split()[0]) - start_ticks / os.sysconf("SC_CLK_TCK"), 1)
    except (OSError, ValueError, IndexError):
        return None


def allocator(pid: int, mappings: list[Mapping]) -> dict:
    """The malloc the process runs (a library it mapped), and the settings of its environment that change it."""
    libs = {Path(m.path).name for m in mappings if m.path.startswith("/")}
    name = "glibc malloc"
    for lib, label in (("libjemalloc", "jemalloc"), ("libtcmalloc", "tcmalloc"), ("libmimalloc", "mimalloc")):
        if any(n.startswith(lib) for n in libs):
            name = label
    environ = read_text(f"/proc/{pid}/environ") or ""
    env = dict(kv.split("=", 1) for kv in environ.split("\0") if "=" in kv)
    return {"name": name, "MALLOC_ARENA_MAX": env.get("MALLOC_ARENA_MAX"), "LD_PRELOAD": env.get("LD_PRELOAD")}
