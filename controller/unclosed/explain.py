"""Where a JVM's memory goes: one breakdown of its RSS that adds up.

Three views of one process, put side by side:

- the OS view: RSS (anon / file / shmem) from /proc, and the memory cgroup's figures (usage,
  anon, file cache, inactive file, and the working set a container metric would show);
- the JVM view, read with the target's own `jcmd`: heap, metaspace, code cache, thread stacks,
  the direct buffer pool, and Native Memory Tracking's categories when NMT is on;
- our view: native bytes held by objects the unclosed agent tracks, per family.

The breakdown attributes the RSS to components without counting anything twice (see
`OVERLAPS`); what is left is the remainder nobody accounts for, with hints drawn from the
mappings (glibc malloc arenas), the cgroup (page cache) and the JVM's flags (NMT off).

Pure functions parse /proc, cgroup and jcmd text (tested on samples); `explain(pid)` gathers
one report (a JSON-ready dict), `render_text` prints it, `watch` samples it over time.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .errors import UnclosedError

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB
# A glibc malloc arena (other than the main one) lives in heaps of HEAP_MAX_SIZE, 64 MiB on
# 64-bit: reserved PROT_NONE, aligned to 64 MiB, made read-write as the arena grows.
ARENA_BYTES = 64 * MIB
# A thread stack's guard below it: glibc's guard page, or HotSpot's red/yellow/reserved zones.
MAX_GUARD_BYTES = 64 * KIB
JCMD_TIMEOUT_S = 30
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


# -- units --------------------------------------------------------------------------------------

_UNITS = {"": 1, "b": 1, "bytes": 1, "k": KIB, "kb": KIB, "m": MIB, "mb": MIB, "g": GIB, "gb": GIB,
          "t": 1024 * GIB, "tb": 1024 * GIB}


def size(number: str, unit: str = "") -> int:
    """`size("4.26", "MB")` -> bytes (the JVM's units are binary: K is 1024)."""
    return int(round(float(number) * _UNITS[unit.strip().lower()]))


def mib(n: int | float | None) -> str:
    return "?" if n is None else f"{n / MIB:.1f}"


# -- /proc ---------------------------------------------------------------------------------------

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


# -- mappings: where the resident pages are ------------------------------------------------------

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


# -- jcmd output ---------------------------------------------------------------------------------

_ADDRESS = r"0x[0-9a-fA-F]+"


def _bracket_range(text: str) -> tuple[int, int] | None:
    addresses = re.findall(_ADDRESS, text)
    return (int(addresses[0], 16), int(addresses[-1], 16)) if len(addresses) >= 2 else None


def parse_heap_info(text: str) -> dict:
    """`jcmd PID GC.heap_info` of G1, Parallel, Serial, Shenandoah or ZGC (JDK 17 to 25):
    {"used", "committed", "ranges": [(lo, hi)], "gc"} in bytes; ranges are address ranges of the
    heap's reservation (none for ZGC, whose heap is a memfd named java_heap)."""
    used = committed = 0
    ranges, gcs, found = [], [], False
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if re.match(r"^\s*(Metaspace|class space)\b", line):
            continue
        gen = re.match(r"^\s*(\S.*?)\s+total (?:reserved \d+K, committed )?(\d+)K, used (\d+)K(.*)$", line)
        if gen:
            found = True
            gcs.append(gen[1].strip())
            committed += int(gen[2]) * KIB
            used += int(gen[3]) * KIB
            rng = _bracket_range(gen[4])
            if rng:
                ranges.append(rng)
            continue
        shen = re.search(r"(\d+)([KMG]) committed, (\d+)([KMG]) used", line)
        if shen:
            found = True
            gcs.append("Shenandoah")
            committed += size(shen[1], shen[2])
            used += size(shen[3], shen[4])
            continue
        z = re.match(r"^\s*ZHeap\s+used (\d+)([KMG]), capacity (\d+)([KMG])", line)
        if z:
            found = True
            gcs.append("ZGC")
            used += size(z[1], z[2])
            committed += size(z[3], z[4])
            continue
        if line.strip() == "Reserved region:" and i + 1 < len(lines):
            rng = _bracket_range(lines[i + 1])
            if rng:
                ranges.append(rng)
    if not found:
        return {}
    return {"used": used, "committed": committed, "ranges": _merge(ranges), "gc": ", ".join(gcs)}


def _merge(ranges):
    merged = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged


def parse_codecache(text: str) -> dict:
    """`jcmd PID Compiler.codecache`: {"reserved", "committed", "used", "ranges"}: each code heap
    reports `bounds [low, committed top, high)`."""
    reserved = used = committed = 0
    ranges = []
    heaps = re.findall(r"^CodeHeap '[^']*': size=(\d+)Kb used=(\d+)Kb", text, re.M)
    if not heaps:
        heaps = re.findall(r"^CodeCache: size=(\d+)Kb,? used=(\d+)Kb", text, re.M)
    for heap_size, heap_used in heaps:
        reserved += int(heap_size) * KIB
        used += int(heap_used) * KIB
    for bounds in re.findall(r"bounds \[([^\]]*)\]", text):
        addresses = [int(a, 16) for a in re.findall(_ADDRESS, bounds)]
        if len(addresses) == 3:
            committed += addresses[1] - addresses[0]
            ranges.append((addresses[0], addresses[2]))
    if not heaps:
        return {}
    return {"reserved": reserved, "committed": committed, "used": used, "ranges": _merge(ranges)}


def parse_metaspace(text: str) -> dict:
    """`jcmd PID VM.metaspace` (or a GC.heap_info carrying a Metaspace line): {"used",
    "committed", "reserved"} for class and non-class space together."""
    out = {}
    line = re.search(r"^\s*Metaspace\s+used (\d+)K, committed (\d+)K, reserved (\d+)K", text, re.M)
    if line:
        out = {"used": int(line[1]) * KIB, "committed": int(line[2]) * KIB, "reserved": int(line[3]) * KIB}
    virtual = re.search(r"Virtual space:(.*?)\n\s*\n", text, re.S)
    if virtual:
        both = re.search(r"Both:\s+([\d.]+) (\w+) reserved,\s+([\d.]+) (\w+)\s.*?committed", virtual[1])
        if not both:  # no compressed class space: one line
            both = re.search(r"^\s*([\d.]+) (\w+) reserved,\s+([\d.]+) (\w+)\s.*?committed", virtual[1], re.M)
        if both:
            out["reserved"] = size(both[1], both[2])
            out["committed"] = size(both[3], both[4])
    usage = re.search(r"Total Usage.*?Both:.*?,\s+([\d.]+) (\w+) \(\s*<?\d+%\) used", text, re.S)
    if not usage:
        usage = re.search(r"Total Usage.*?^\s*\d+ chunks?,.*?,\s+([\d.]+) (\w+) \(\s*<?\d+%\) used", text, re.S | re.M)
    if usage:
        out["used"] = size(usage[1], usage[2])
    return out


def parse_flags(text: str) -> dict:
    """`jcmd PID VM.flags -all` (or plain VM.flags): {name: value text}."""
    flags = {}
    for line in text.splitlines():
        match = re.match(r"^\s*\S+\s+(\w+)\s+:?=\s*(.*?)\s+\{", line)
        if match:
            flags[match[1]] = match[2].strip()
    for name, value in re.findall(r"-XX:(\w+)=(\S+)", text):  # plain VM.flags
        flags.setdefault(name, value)
    for sign, name in re.findall(r"-XX:([+-])(\w+)", text):
        flags.setdefault(name, "true" if sign == "+" else "false")
    return flags


def parse_nmt(text: str) -> dict | None:
    """`jcmd PID VM.native_memory summary` (JDK 17 to 25): {"reserved", "committed", "malloc",
    "categories": {name: {"reserved", "committed", "malloc", "arena", "mmap_committed",
    "stack_committed"}}} in bytes; None when NMT is off."""
    if "Native memory tracking is not enabled" in text or "Native Memory Tracking" not in text:
        return None
    total = re.search(r"Total: reserved=(\d+)KB, committed=(\d+)KB", text)
    malloc = re.search(r"^\s*malloc: (\d+)KB", text, re.M)
    categories: dict[str, dict] = {}
    current = None
    for line in text.splitlines():
        head = re.match(r"^-\s*(.+?) \(reserved=(\d+)KB, committed=(\d+)KB", line)
        if head:
            current = {"reserved": int(head[2]) * KIB, "committed": int(head[3]) * KIB,
                       "malloc": 0, "arena": 0, "mmap_committed": 0, "stack_committed": 0}
            categories[head[1].strip()] = current
            continue
        if current is None or not line.startswith(" "):
            current = None if line.strip() else current
            continue
        for key, pattern in (("malloc", r"\(malloc=(\d+)KB"), ("arena", r"\(arena=(\d+)KB"),
                             ("mmap_committed", r"\(mmap: reserved=\d+KB, committed=(\d+)KB"),
                             ("stack_committed", r"\(stack: reserved=\d+KB, committed=(\d+)KB")):
            match = re.search(pattern, line)
            if match:
                current[key] = int(match[1]) * KIB
    return {
        "reserved": int(total[1]) * KIB if total else None,
        "committed": int(total[2]) * KIB if total else None,
        "malloc": int(malloc[1]) * KIB if malloc else None,
        "categories": categories,
    }


def parse_properties(text: str) -> dict:
    """`jcmd PID VM.system_properties` (java.util.Properties text, escapes undone)."""
    props = {}
    for line in text.splitlines():
        if not line or line[0] in "#!" or "=" not in line:
            continue
        key, value = re.split(r"(?<!\\)=", line, maxsplit=1) if re.search(r"(?<!\\)=", line) else (line, "")
        props[_unescape(key)] = _unescape(value)
    return props


def _unescape(s: str) -> str:
    return re.sub(r"\\u([0-9a-fA-F]{4})|\\(.)",
                  lambda m: chr(int(m[1], 16)) if m[1] else {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}.get(m[2], m[2]),
                  s)


# -- cgroup --------------------------------------------------------------------------------------

def parse_proc_cgroup(text: str) -> list[tuple[str, list[str], str]]:
    """/proc/PID/cgroup: (hierarchy id, controllers, path) per line."""
    out = []
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            out.append((parts[0], [c for c in parts[1].split(",") if c], parts[2]))
    return out


def parse_mountinfo(text: str) -> list[dict]:
    """/proc/PID/mountinfo: {"root", "mount_point", "fstype", "super_options"} per cgroup mount."""
    mounts = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        fields, tail = left.split(), right.split()
        if len(fields) < 5 or len(tail) < 3 or not tail[0].startswith("cgroup"):
            continue
        mounts.append({"root": _octal_unescape(fields[3]), "mount_point": _octal_unescape(fields[4]),
                       "fstype": tail[0], "super_options": tail[2].split(",")})
    return mounts


def _octal_unescape(s: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), s)


def locate_memory_cgroup(proc_cgroup: str, mountinfo: str, exists=os.path.exists) -> tuple[int, str, str] | None:
    """(version, directory, cgroup path) of the memory cgroup a /proc/PID/cgroup names, found
    through the cgroup mounts of a mountinfo; v2 when its unified hierarchy has the memory
    controller, else v1's memory hierarchy; None when neither is mounted here."""
    lines = parse_proc_cgroup(proc_cgroup)
    mounts = parse_mountinfo(mountinfo)
    candidates = []
    for hid, controllers, path in lines:
        if hid == "0" and not controllers:
            candidates += [(2, m, path, "memory.current") for m in mounts if m["fstype"] == "cgroup2"]
        elif "memory" in controllers:
            candidates += [(1, m, path, "memory.usage_in_bytes") for m in mounts
                           if m["fstype"] == "cgroup" and "memory" in m["super_options"]]
    for version, mount, path, probe in candidates:
        root = mount["root"].rstrip("/")
        if root and (path == root or path.startswith(root + "/")):
            relative = path[len(root):]
        else:
            relative = path  # a mount of the hierarchy's root
        for directory in (mount["mount_point"].rstrip("/") + relative, mount["mount_point"]):
            if exists(os.path.join(directory, probe)):
                return version, directory.rstrip("/") or "/", path
    return None


def parse_memory_stat(text: str) -> dict[str, int]:
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            out[parts[0]] = int(parts[1])
    return out


def cgroup_memory(version: int, read) -> dict:
    """The memory figures of a cgroup, from its files: `read(name)` returns a file's text or
    None. {"usage", "limit" (None: none), "anon", "file", "shmem", "active_file",
    "inactive_file", "working_set" (usage - inactive_file, what container_memory_working_set_bytes
    shows), "processes"}."""
    def number(name):
        text = read(name)
        if text is None:
            return None
        text = text.strip()
        return None if text in ("", "max") else int(text)

    if version == 2:
        usage, limit = number("memory.current"), number("memory.max")
        stat = parse_memory_stat(read("memory.stat") or "")
        pick = {k: stat.get(k) for k in ("anon", "file", "shmem", "active_file", "inactive_file")}
    else:
        usage, limit = number("memory.usage_in_bytes"), number("memory.limit_in_bytes")
        if limit is not None and limit >= 2 ** 62:  # v1 writes "no limit" as a huge number
            limit = None
        stat = parse_memory_stat(read("memory.stat") or "")

        def v1(name):  # total_* covers the cgroup and its children, as usage does
            return stat.get(f"total_{name}", stat.get(name))

        pick = {"anon": v1("rss"), "file": v1("cache"), "shmem": v1("shmem"),
                "active_file": v1("active_file"), "inactive_file": v1("inactive_file")}
    inactive = pick["inactive_file"] or 0
    procs = read("cgroup.procs")
    return {
        "usage": usage, "limit": limit, **pick,
        "working_set": None if usage is None else max(0, usage - inactive),
        "processes": None if procs is None else len(procs.split()),
    }


def read_cgroup(pid: int, proc: Path = Path("/proc")) -> dict | None:
    try:
        located = locate_memory_cgroup((proc / str(pid) / "cgroup").read_text(),
                                       (proc / "self" / "mountinfo").read_text())
    except OSError:
        return None
    if located is None:
        return None
    version, directory, path = located

    def read(name):
        try:
            return (Path(directory) / name).read_text()
        except OSError:
            return None

    return {"version": version, "path": path, "dir": directory, **cgroup_memory(version, read)}


# -- the target JVM and its jcmd -----------------------------------------------------------------

def target_java_home(pid: int) -> Path | None:
    """The JDK the process runs, from /proc/PID/exe (…/bin/java)."""
    try:
        exe = Path(os.readlink(f"/proc/{pid}/exe").removesuffix(" (deleted)"))
    except OSError:
        return None
    return exe.parent.parent if exe.parent.name == "bin" else None


def find_jcmd(pid: int) -> tuple[str | None, str | None]:
    """(jcmd, note): the target JDK's own jcmd, else one from JAVA_HOME or PATH (noted)."""
    home = target_java_home(pid)
    if home is not None:
        for candidate in (home / "bin" / "jcmd", home.parent / "bin" / "jcmd"):  # a JDK 8 jre/ inside
            if os.access(candidate, os.X_OK):
                return str(candidate), None
    fallback = [Path(os.environ["JAVA_HOME"]) / "bin" / "jcmd"] if os.environ.get("JAVA_HOME") else []
    fallback += [Path(p) for p in [shutil.which("jcmd")] if p]
    for candidate in fallback:
        if os.access(candidate, os.X_OK):
            return str(candidate), f"the JVM's own JDK ({home}) has no jcmd: used {candidate}"
    return None, f"no jcmd: the JVM runs {home} (a JRE?) and none is on PATH or in JAVA_HOME"


def run_jcmd(jcmd: str, pid: int, *command: str) -> tuple[bool, str]:
    """(ok, output without the leading `PID:` line)."""
    env = dict(os.environ)
    env.pop("JAVA_TOOL_OPTIONS", None)  # would be applied to jcmd's own JVM
    try:
        done = subprocess.run([jcmd, str(pid), *command], capture_output=True, text=True,
                              timeout=JCMD_TIMEOUT_S, env=env)
    except subprocess.TimeoutExpired:
        return False, f"jcmd {' '.join(command)} did not answer within {JCMD_TIMEOUT_S} s"
    except OSError as e:
        return False, f"cannot run {jcmd}: {e.strerror}"
    out = done.stdout
    if out.startswith(f"{pid}:"):
        out = out.split("\n", 1)[1] if "\n" in out else ""
    if done.returncode != 0 or re.search(r"^\S*(Exception|Error):", out, re.M):
        lines = (out.strip() or done.stderr.strip() or f"exit code {done.returncode}").splitlines()
        return False, f"jcmd {' '.join(command)} failed: {lines[0][:200]}"
    return True, out


# -- our view: the unclosed agent -----------------------------------------------------------------

def our_view(pid: int, agent_dir: str | None, store=None, run_id: int | None = None) -> dict:
    """What the unclosed agent in JVM `pid` holds, per family. With a store, one drain is taken
    into run `run_id` (a new run labelled `explain` when None) to split the held bytes by family;
    without, the agent's status gives the total (drains consume events a `record` would miss)."""
    from .channel import AgentChannel

    view = {"agent": False, "agent_dir": agent_dir}
    if agent_dir is None:
        return view
    channel = AgentChannel.connect(agent_dir)
    try:
        status = channel.status()
        view.update(agent=True, held=status.get("held", 0), bytes_held=status.get("bytes_held", 0),
                    tracking_since_ms=status.get("tracking_since_ms"), mode=status.get("mode"))
        view["families"] = status["families"]
        if store is not None:
            # Beside the memory samples, the database keeps what the agent saw (a new run the
            # first time): the sites behind our figures.
            run_id = run_id or store.begin_run(status, pid, "explain")
            drain_file = Path(agent_dir) / f"explain-{os.getpid()}.tsv"
            try:
                channel.drain(drain_file)
                store.ingest_drain(run_id, drain_file)
            finally:
                drain_file.unlink(missing_ok=True)
            view["run_id"] = run_id
        view["buffer_pools"] = buffer_pools_via_agent(channel)
    finally:
        channel.close()
    return view


def buffer_pools_via_agent(channel) -> dict | None:
    """The JVM's BufferPoolMXBeans (direct, mapped), read in the target through the agent's
    py4j gateway: no JMX connector is started."""
    try:
        jvm = channel._gateway.jvm
        bean_class = jvm.java.lang.Class.forName("java.lang.management.BufferPoolMXBean")
        return {str(b.getName()): {"count": int(b.getCount()), "used": int(b.getMemoryUsed()),
                                   "capacity": int(b.getTotalCapacity())}
                for b in jvm.java.lang.management.ManagementFactory.getPlatformMXBeans(bean_class)}
    except Exception:  # py4j errors of all kinds: the figure is optional
        return None


# -- gathering ------------------------------------------------------------------------------------

def _read(path: str) -> str | None:
    try:
        return Path(path).read_text()
    except OSError:
        return None


def _uptime_s(pid: int) -> float | None:
    try:
        start_ticks = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
        return round(float(Path("/proc/uptime").read_text().split()[0]) - start_ticks / os.sysconf("SC_CLK_TCK"), 1)
    except (OSError, ValueError, IndexError):
        return None


def _allocator(pid: int, mappings: list[Mapping]) -> dict:
    libs = {Path(m.path).name for m in mappings if m.path.startswith("/")}
    name = "glibc malloc"
    for lib, label in (("libjemalloc", "jemalloc"), ("libtcmalloc", "tcmalloc"), ("libmimalloc", "mimalloc")):
        if any(n.startswith(lib) for n in libs):
            name = label
    environ = _read(f"/proc/{pid}/environ") or ""
    env = dict(kv.split("=", 1) for kv in environ.split("\0") if "=" in kv)
    return {"name": name, "MALLOC_ARENA_MAX": env.get("MALLOC_ARENA_MAX"), "LD_PRELOAD": env.get("LD_PRELOAD")}


def explain(pid: int, *, attach: bool = False, store=None, run_id: int | None = None, flags: dict | None = None) -> dict:
    """One report on JVM `pid`: the OS, JVM and unclosed views, the breakdown of its RSS that
    adds up (components + remainder = RSS), where it lives by mapping, hints and overlaps.

    `attach` loads the unclosed agent first when none is loaded; `store` (a Store) lets the
    agent's held bytes be split by family (one drain, ingested into run `run_id`, or a new run).
    `flags` reuses VM.flags of an earlier sample."""
    from .attach import _check_target

    pid = int(pid)
    _check_target(pid)  # no such process, another user's, not a JVM: one clear error
    attached_dir = None
    if attach:  # first, so that everything below sees the JVM with its agent
        from .attach import attach_agent
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
    status = parse_status(_read(f"/proc/{pid}/status") or "")
    rollup = parse_smaps_rollup(_read(f"/proc/{pid}/smaps_rollup") or "")
    smaps_text = _read(f"/proc/{pid}/smaps")
    if smaps_text is None:
        raise UnclosedError(f"cannot read /proc/{pid}/smaps (did JVM {pid} exit?)")
    mappings = parse_maps(smaps_text)
    stack_limit = parse_stack_limit(_read(f"/proc/{pid}/limits") or "")

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
            from .attach import agent_dir_of
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
        "uptime_s": _uptime_s(pid),
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
        "allocator": _allocator(pid, mappings),
        "notes": notes,
    }
    report.update(account(report))
    return report


FLAGS_KEPT = ("NativeMemoryTracking", "ThreadStackSize", "VMThreadStackSize", "CompilerThreadStackSize",
              "MaxHeapSize", "MaxDirectMemorySize")


def _int(text) -> int | None:
    return int(text) if isinstance(text, str) and text.isdigit() else None


# -- the breakdown --------------------------------------------------------------------------------

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


# -- text -----------------------------------------------------------------------------------------

def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def render_text(report: dict) -> str:
    os_, jvm, java = report["os"], report["jvm"], report["java"]
    lines = [f"JVM {report['pid']}: {java.get('vm') or 'Java'} {java.get('version') or '?'} ({java.get('home')}), "
             f"up {_duration(report.get('uptime_s'))}, {os_.get('threads')} threads"]
    lines.append(f"  OS view:     RSS {mib(os_.get('rss'))} MiB = anon {mib(os_.get('rss_anon'))} + file "
                 f"{mib(os_.get('rss_file'))} + shmem {mib(os_.get('rss_shmem'))}; swap {mib(os_.get('swap'))}")
    cg = report.get("cgroup")
    if cg:
        limit = "no limit" if cg.get("limit") is None else f"limit {mib(cg['limit'])}"
        lines.append(f"  cgroup v{cg['version']}:   {cg['path']} ({cg.get('processes')} processes): usage {mib(cg.get('usage'))} MiB "
                     f"({limit}) = anon {mib(cg.get('anon'))} + file {mib(cg.get('file'))} + kernel/other; inactive file "
                     f"{mib(cg.get('inactive_file'))} -> working set {mib(cg.get('working_set'))} MiB")
    else:
        lines.append("  cgroup:      no memory cgroup found")
    nmt = jvm.get("nmt_mode", "off")
    pools = jvm.get("buffer_pools")
    direct = pools.get("direct") if pools else None
    lines.append(f"  JVM view:    NMT {nmt}; direct buffer pool "
                 + (f"{mib(direct['used'])} MiB in {direct['count']} buffers" if direct else "unknown")
                 + (f", MaxDirectMemorySize {mib(jvm['max_direct_memory'])} MiB" if jvm.get("max_direct_memory") else ""))
    ours = report["ours"]
    if ours.get("agent"):
        families = {f: v for f, v in (ours.get("families") or {}).items() if v.get("held") or v.get("bytes_held")}
        if not families:
            held = "nothing held"
        else:
            held = "held " + ", ".join(f"{f} {mib(v.get('bytes_held'))} MiB in {v.get('held', '?')}"
                                       for f, v in sorted(families.items()))
        since = ours.get("tracking_since_ms")
        ago = f", tracking for {_duration((report['time_ms'] - since) / 1000)}" if since else ""
        lines.append(f"  our view:    unclosed agent loaded ({ours.get('agent_dir')}{ago}): {held}")
    else:
        lines.append(f"  our view:    no unclosed agent loaded (`unclosed attach {report['pid']}`)")
    lines.append("")
    lines.append(f"Where the RSS goes{'':32} MiB  basis      detail")
    for row in report["breakdown"]:
        if row["component"] == "remainder":
            lines.append("  " + "-" * 56)
        lines.append(f"  {row['label'][:44]:44} {mib(row['bytes']):>8}  {row['basis']:10} {row['detail']}".rstrip())
    lines.append(f"  {'RSS (sum of /proc/PID/smaps)':44} {mib(report['rss']):>8}")
    lines.append("")
    arenas = report["arenas"]
    parts = []
    for key, label in REGIONS.items():
        value = report["regions"][key]
        if key == "malloc_arenas":
            label = f"malloc arenas ({arenas['count']} heaps of 64 MiB)"
        if value or key in ("malloc_arenas",):
            parts.append(f"{label} {mib(value)}")
    lines.append("Where it lives, by mapping (MiB): " + ", ".join(parts))
    allocator = report["allocator"]
    lines.append(f"  allocator: {allocator['name']}" + (f", MALLOC_ARENA_MAX={allocator['MALLOC_ARENA_MAX']}"
                                                          if allocator.get("MALLOC_ARENA_MAX") else ""))
    if jvm.get("nmt"):
        cats = sorted(jvm["nmt"]["categories"].items(), key=lambda kv: -kv[1]["committed"])
        lines.append(f"NMT (committed {mib(jvm['nmt']['committed'])} MiB): "
                     + ", ".join(f"{name} {mib(c['committed'])}" for name, c in cats if c["committed"] >= MIB // 10))
    if report["hints"]:
        lines.append("")
        lines.append("Hints")
        lines += [f"  - {h}" for h in report["hints"]]
    if report["notes"]:
        lines.append("")
        lines.append("Notes")
        lines += [f"  - {n}" for n in report["notes"]]
    lines.append("")
    lines.append("Overlaps (what is counted once, and where)")
    lines += [f"  - {o}" for o in report["overlaps"]]
    return "\n".join(lines) + "\n"


# -- over time ------------------------------------------------------------------------------------

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


def render_growth(samples: list[dict]) -> str:
    table = growth(samples)
    if not table["rows"]:
        return ""
    first, last = samples[0], samples[-1]
    span = (last["time_ms"] - first["time_ms"]) / 1000
    lines = [f"Growth of JVM {first['pid']}: {len(samples)} samples over {_duration(span)} (MiB; columns by JVM uptime)"]
    header = "".join(f"{'up ' + _duration(t):>11}" for t in table["times"])
    lines.append(f"  {'':36}{header}{'change':>10}")
    grows = [r for r in table["rows"] if r["component"] != "rss" and r["change"] > 0]
    top = grows[0]["component"] if grows and grows[0]["change"] >= MIB else None
    for row in table["rows"]:
        cells = "".join(f"{mib(v):>11}" for v in row["values"])
        mark = "  <- grows most" if row["component"] == top else ""
        lines.append(f"  {row['label'][:36]:36}{cells}{row['change'] / MIB:>+10.1f}{mark}")
    return "\n".join(lines) + "\n"


def sample_line(report: dict, previous: dict | None) -> str:
    """One line per sample while watching: RSS and what moved since the previous sample."""
    line = f"up {_duration(report.get('uptime_s')):>8}  RSS {mib(report['rss']):>8} MiB"
    if previous is None:
        return line
    now, before = components(report), components(previous)
    line += f" ({(now['rss'] - before['rss']) / MIB:+.1f})"
    labels = {r["component"]: r["label"] for r in report["breakdown"]}
    moves = sorted(((name, now[name] - before.get(name, 0)) for name in now if name in labels),
                   key=lambda kv: -abs(kv[1]))
    shown = [f"{labels[n]} {d / MIB:+.1f}" for n, d in moves[:3] if abs(d) >= MIB // 10]
    return line + (": " + ", ".join(shown) if shown else "")


def watch(pid: int, interval: float, count: int | None, *, attach: bool = False, store=None,
          on_sample=None) -> list[dict]:
    """Samples `explain(pid)` every `interval` seconds, `count` times (None: until Ctrl-C or the
    JVM exits); `on_sample(report, previous)` is called as each comes; with a store, each
    sample's components go into memory_samples. Returns the samples."""
    from .attach import process_alive

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


__all__ = ["explain", "explain_once", "watch", "render_text", "render_growth", "growth", "components", "account",
           "classify_mappings", "parse_maps", "parse_status", "parse_smaps_rollup", "parse_heap_info",
           "parse_codecache", "parse_metaspace", "parse_flags", "parse_nmt", "parse_properties",
           "locate_memory_cgroup", "cgroup_memory", "read_cgroup", "find_arenas", "find_stacks"]
