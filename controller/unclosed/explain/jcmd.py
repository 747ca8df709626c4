"""The target JVM's own view, through its own `jcmd`: finding and running it, and parsing
what GC.heap_info, Compiler.codecache, VM.metaspace, VM.flags, VM.native_memory and
VM.system_properties print (JDK 17 to 25; tested on sample files)."""

import os
import re
import shutil
import subprocess
from pathlib import Path

from ..units import KIB, parse_size

JCMD_TIMEOUT_S = 30


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


# -- what jcmd prints ------------------------------------------------------------------------------

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
            committed += parse_size(shen[1], shen[2])
            used += parse_size(shen[3], shen[4])
            continue
        z = re.match(r"^\s*ZHeap\s+used (\d+)([KMG]), capacity (\d+)([KMG])", line)
        if z:
            found = True
            gcs.append("ZGC")
            used += parse_size(z[1], z[2])
            committed += parse_size(z[3], z[4])
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
            out["reserved"] = parse_size(both[1], both[2])
            out["committed"] = parse_size(both[3], both[4])
    usage = re.search(r"Total Usage.*?Both:.*?,\s+([\d.]+) (\w+) \(\s*<?\d+%\) used", text, re.S)
    if not usage:
        usage = re.search(r"Total Usage.*?^\s*\d+ chunks?,.*?,\s+([\d.]+) (\w+) \(\s*<?\d+%\) used", text, re.S | re.M)
    if usage:
        out["used"] = parse_size(usage[1], usage[2])
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
