"""The memory cgroup of a process: found through /proc/PID/cgroup and the cgroup mounts (v1 or
v2, in a container or not), and its figures: usage, anon, file cache, and the working set a
container metric shows."""

import os
import re
from pathlib import Path


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
