"""`unclosed explain` on real JVMs, on every JDK: direct buffers explained by the pool (read
through the JDK's management agent, then through ours), held Deflaters by our zlib figure, live
ones by the class histogram without our agent, NMT's categories, glibc malloc arenas, the live
cgroup and page cache, --watch into a database, a JVM that refuses attaching and one in another
network namespace (the parsers and the breakdown on sample files: tests/unit/test_explain.py).

Tolerances, measured on this machine (2 cores, JDK 17.0.15 and 25.0.3, -Xmx128m):
- the remainder of a small JVM is 4 to 7 MiB without the agent, 19 to 20 MiB with it loaded
  (the agent's own native memory: ByteBuddy, py4j, the JIT's work on them), -5 to -3 MiB with
  NMT on: REMAINDER_TOLERANCE and REMAINDER_TOLERANCE_NMT;
- holding 400 used Deflaters grows the RSS by our figure (400 x 268,288 bytes = 102.3 MiB) and the
  remainder by 0.4 MiB: GROWTH_TOLERANCE.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from helpers.cli import CLI, cli
from helpers.jvm import RunningJvm, compile_program, env_without_java_options, jdk_id, machine_jdks
from helpers.namespaces import NamespacedJvm, namespaces_unavailable, shared_folder
from unclosed import Store, attach_agent, hotspot
from unclosed.attach import DIR_PROPERTY
from unclosed.explain import explain
from unclosed.explain.cgroup import read_cgroup
from unclosed.explain.management import LOCAL_CONNECTOR_ADDRESS
from unclosed.renderers.explain import render_growth
from unclosed.units import MIB, mib

JDKS = machine_jdks()
PROGRAM = "MemoryWorkload"
HELD_ZLIB = "HeldZlibWorkload"
JAVA_OPTIONS = ["-Xmx128m", "-XX:MaxDirectMemorySize=1g"]
DEFLATER, INFLATER = "java.util.zip.Deflater", "java.util.zip.Inflater"
DEFLATER_BYTES, INFLATER_BYTES = 268288, 39936

REMAINDER_TOLERANCE = 32 * MIB
REMAINDER_TOLERANCE_NMT = 16 * MIB
GROWTH_TOLERANCE = 16 * MIB
OURS_TOLERANCE = 0.01  # our zlib figure against 400 x 268,288 bytes


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """MemoryWorkload and HeldZlibWorkload compiled by each JDK, into one folder a JDK."""
    folders = {jdk: tmp_path_factory.mktemp(jdk_id(jdk)) for jdk in JDKS}
    for jdk, folder in folders.items():
        for program in (PROGRAM, HELD_ZLIB):
            compile_program(jdk, program, folder)
    return folders


@pytest.fixture(params=JDKS, ids=jdk_id)
def workload(request, compiled):
    """start(*java_options, env=None, program=MemoryWorkload) -> a running program on this JDK,
    killed afterwards."""
    jdk = request.param
    started = []

    def start(*options, env=None, program=PROGRAM) -> RunningJvm:
        jvm = RunningJvm(jdk, compiled[jdk], program, java_options=[*JAVA_OPTIONS, *options],
                         env=env or env_without_java_options())
        started.append(jvm)
        jvm.expect("ready")
        return jvm

    yield start
    for jvm in started:
        jvm.kill()


def explain_json(pid, *args) -> dict:
    return json.loads(cli("explain", pid, "--format", "json", *args).stdout)


def row(report: dict, component: str) -> int | None:
    return next((r["bytes"] for r in report["breakdown"] if r["component"] == component), None)


def assert_adds_up(report: dict) -> None:
    assert sum(r["bytes"] for r in report["breakdown"]) == report["rss"]
    assert sum(report["regions"].values()) == report["rss"]
    # smaps and status are read moments apart, and status counts per thread in batches
    assert abs(report["rss"] - report["os"]["rss"]) <= 8 * MIB


# -- real JVMs ----------------------------------------------------------------------------------

def test_direct_buffers_are_explained_by_the_pool(workload):
    """Without our agent, through the JDK's management agent (started for it), then through ours."""
    jvm = workload()
    jvm.send("direct 200")
    first = explain_json(jvm.pid)
    assert not first["ours"]["agent"]
    assert (first["jvm"]["buffer_pools_via"], first["jvm"]["management_agent_started"]) == ("management_agent", True)
    assert abs(row(first, "direct_buffers") - 200 * MIB) <= MIB
    assert first["jvm"]["buffer_pools"]["direct"]["count"] >= 200
    assert abs(first["remainder"]) <= REMAINDER_TOLERANCE, first["breakdown"]
    assert not any("direct buffer pool is not known" in h for h in first["hints"])
    assert any(f"unclosed attach {jvm.pid}" in h for h in first["hints"])
    assert_adds_up(first)

    text = cli("explain", jvm.pid).stdout  # the management agent runs now: not started again
    shown = re.search(r"direct buffer pool ([\d.]+) MiB in \d+ buffers \(from the JDK's management agent\)", text)
    assert shown and abs(float(shown[1]) - 200) <= 1, text
    assert DIR_PROPERTY not in hotspot.properties(jvm.pid)  # no agent of ours was ever loaded

    seen = explain_json(jvm.pid, "--attach")
    assert seen["ours"]["agent"] and seen["jvm"]["buffer_pools_via"] == "unclosed_agent"
    assert abs(row(seen, "direct_buffers") - 200 * MIB) <= MIB
    assert abs(seen["remainder"]) <= REMAINDER_TOLERANCE, seen["breakdown"]
    assert seen["rss"] >= 200 * MIB
    assert_adds_up(seen)

    text = cli("explain", jvm.pid).stdout
    assert "Where the RSS goes" in text and "direct buffers" in text and "remainder" in text
    assert f"unclosed agent loaded ({seen['ours']['agent_dir']}" in text and "(from unclosed's agent)" in text
    jvm.kill()
    shutil.rmtree(seen["ours"]["agent_dir"], ignore_errors=True)


def test_the_class_histogram_counts_live_zlib_objects_without_our_agent(workload):
    """Exactly: the Deflaters and Inflaters the program holds, on top of what the same program
    holding none has alive (the JVM's own, e.g. ZipFile's pooled Inflaters)."""
    baseline = workload(program=HELD_ZLIB)
    holding = workload("-Ddeflaters=400", "-Dinflaters=100", program=HELD_ZLIB)
    base = explain_json(baseline.pid, "--histogram")["jvm"]["class_histogram"]
    report = explain_json(holding.pid, "--histogram")
    expected = {DEFLATER: base[DEFLATER]["instances"] + 400, INFLATER: base[INFLATER]["instances"] + 100}
    assert {name: c["instances"] for name, c in report["jvm"]["class_histogram"].items()} == expected
    zlib_bytes = expected[DEFLATER] * DEFLATER_BYTES + expected[INFLATER] * INFLATER_BYTES
    assert row(report, "zlib_histogram") == zlib_bytes
    assert_adds_up(report)

    text = cli("explain", holding.pid, "--histogram").stdout
    assert (f"a full GC ran for it; alive: {expected[DEFLATER]} {DEFLATER}, {expected[INFLATER]} {INFLATER}"
            in text), text
    zlib_row = next(line for line in text.splitlines() if "zlib objects alive (class histogram)" in line)
    assert (f" {mib(zlib_bytes)}  estimate   {expected[DEFLATER]} Deflater x 268,288 + {expected[INFLATER]} "
            f"Inflater x 39,936 bytes") in zlib_row, zlib_row
    assert DIR_PROPERTY not in hotspot.properties(holding.pid)


def test_a_jvm_that_refuses_attaching_gets_the_os_view_and_why(workload):
    jvm = workload("-XX:+DisableAttachMechanism")
    report = explain_json(jvm.pid)
    assert report["notes"] == [f"no JVM view, and whether an unclosed agent is loaded is unknown: JVM {jvm.pid} "
                               "does not allow attaching (started with -XX:+DisableAttachMechanism)"]
    assert report["jvm"]["heap"] is None and report["jvm"]["buffer_pools"] is None
    assert_adds_up(report)


def test_held_deflaters_are_explained_by_our_zlib_bytes(workload, tmp_path):
    jvm = workload()
    attach_agent(jvm.pid, {"dir": str(tmp_path / "agent")})
    db = tmp_path / "memory.db"
    before = explain_json(jvm.pid, "--db", db)
    jvm.send("deflaters 400")
    after = explain_json(jvm.pid, "--db", db)

    zlib = after["ours"]["families"]["zlib"]
    assert zlib["held"] == 400
    assert abs(zlib["bytes_held"] - 400 * DEFLATER_BYTES) <= OURS_TOLERANCE * 400 * DEFLATER_BYTES
    assert row(after, "ours.zlib") == zlib["bytes_held"]
    # The memory is real and ours explains it: the RSS grew by about our figure, the remainder did not.
    assert after["rss"] - before["rss"] >= 0.8 * zlib["bytes_held"]
    assert abs(after["remainder"] - before["remainder"]) <= GROWTH_TOLERANCE, (before["breakdown"], after["breakdown"])
    assert abs(after["remainder"]) <= REMAINDER_TOLERANCE
    assert_adds_up(after)

    with Store(db) as store:
        samples = store.memory_samples(jvm.pid)
        assert len({s["time_ms"] for s in samples}) == 2
        assert {"rss", "remainder", "ours.zlib", "java_heap"} <= {s["component"] for s in samples}
        runs = store.runs()
        assert [r["label"] for r in runs] == ["explain", "explain"] and all(r["status"] == "complete" for r in runs)
    report = json.loads(cli("report", db, "--format", "json").stdout)
    assert sum(s["held"] for s in report["sites"] if s["family"] == "zlib") == 400


def test_nmt_categories_are_read_and_summed(workload):
    jvm = workload("-XX:NativeMemoryTracking=summary")
    jvm.send("direct 100")
    report = explain_json(jvm.pid)
    nmt = report["jvm"]["nmt"]
    categories = nmt["categories"]
    assert {"Java Heap", "Class", "Thread", "Code", "GC", "Compiler", "Internal", "Other", "Symbol",
            "Metaspace"} <= set(categories)
    # each category is rounded to KB and those under 1 KB are left out
    assert abs(sum(c["committed"] for c in categories.values()) - nmt["committed"]) <= 32 * 1024
    assert categories["Java Heap"]["committed"] == report["jvm"]["heap"]["committed"]
    assert categories["Other"]["malloc"] >= 100 * MIB
    # No agent: the direct buffers are read from NMT's Other, once, and not in "JVM native" again.
    assert 100 * MIB <= row(report, "direct_buffers") <= 101 * MIB
    assert 0 < row(report, "jvm_native") < 64 * MIB
    assert abs(report["remainder"]) <= REMAINDER_TOLERANCE_NMT, report["breakdown"]
    assert not any("NativeMemoryTracking" in h for h in report["hints"])
    assert_adds_up(report)


def test_malloc_arenas_are_counted_and_named(workload):
    many = workload()
    many.send("arenas 16 64", timeout=120)
    report = explain(many.pid)
    assert report["arenas"]["count"] >= 8
    assert report["regions"]["malloc_arenas"] >= 150 * MIB
    assert report["remainder"] >= 150 * MIB  # freed between held Deflaters: kept by malloc, not ours
    hint = next(h for h in report["hints"] if "arena" in h)
    assert f"{report['arenas']['count']} glibc malloc arena heaps" in hint and "MALLOC_ARENA_MAX=2" in hint

    env = env_without_java_options()
    env["MALLOC_ARENA_MAX"] = "2"
    capped = workload(env=env)
    capped.send("arenas 16 64", timeout=120)
    report = explain(capped.pid)
    assert report["allocator"]["MALLOC_ARENA_MAX"] == "2"
    assert report["arenas"]["count"] <= 3  # one arena besides the main one, in heaps of 64 MiB
    assert not any("Start the JVM with MALLOC_ARENA_MAX" in h for h in report["hints"])


def _memory_cgroup_here() -> bool:
    return read_cgroup(os.getpid()) is not None


def _fs_type(path: Path) -> str:
    best, kind = "", ""
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        left, _, right = line.partition(" - ")
        mount_point = left.split()[4]
        if str(path).startswith(mount_point.rstrip("/") + "/") and len(mount_point) > len(best):
            best, kind = mount_point, right.split()[0]
    return kind


@pytest.mark.skipif(not _memory_cgroup_here(), reason="no memory cgroup on this machine")
def test_the_live_cgroup_and_its_page_cache(workload, tmp_path):
    jvm = workload()
    report = explain(jvm.pid)
    cg = report["cgroup"]
    assert cg is not None
    assert cg["version"] in (1, 2) and Path(cg["dir"]).is_dir()
    assert str(jvm.pid) in (Path(cg["dir"]) / "cgroup.procs").read_text().split()
    assert cg["usage"] > 0 and cg["working_set"] == cg["usage"] - cg["inactive_file"]
    assert cg["anon"] >= 0.9 * report["os"]["rss_anon"]  # the JVM's anonymous pages are charged here

    if _fs_type(tmp_path) in ("tmpfs", "overlay", ""):
        pytest.skip(f"{tmp_path} is not on a disk file system: no page cache to make")
    probe = tmp_path / "page-cache"
    with open(probe, "wb") as f:
        for _ in range(192):
            f.write(os.urandom(MIB))
        os.fsync(f.fileno())  # clean pages: the kernel can drop them when told, below
    _drop_page_cache(probe)
    try:
        for _ in range(2):  # read twice: the pages become active, and count in the working set
            with open(probe, "rb") as f:
                while f.read(8 * MIB):
                    pass
        cached = explain(jvm.pid)
        now = cached["cgroup"]
        assert now["active_file"] - cg["active_file"] >= 150 * MIB, (cg, now)
        assert now["working_set"] - now["anon"] >= 150 * MIB, (cg, now)
        hint = next(h for h in cached["hints"] if "page cache" in h)
        assert "working set" in hint and "not a leak in the JVM" in hint
    finally:
        _drop_page_cache(probe)
        probe.unlink()


def _drop_page_cache(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def test_watch_shows_what_grows_and_keeps_the_samples(workload, tmp_path):
    jvm = workload("-XX:NativeMemoryTracking=summary")
    db = tmp_path / "watch.db"
    watcher = subprocess.Popen([CLI, "explain", str(jvm.pid), "--watch", "3s", "--count", "3", "--db", str(db),
                                "--format", "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not _sample_count(db) and time.monotonic() < deadline:
            time.sleep(0.1)
        jvm.send("direct 64")  # between the first sample and the last
        out, err = watcher.communicate(timeout=120)
    finally:
        watcher.kill()
    assert watcher.returncode == 0, err
    result = json.loads(out)
    assert len(result["samples"]) == 3
    rows = result["growth"]["rows"]
    assert rows[0]["component"] == "rss" and rows[0]["change"] >= 60 * MIB
    assert rows[1]["component"] == "direct_buffers" and abs(rows[1]["change"] - 64 * MIB) <= MIB
    with Store(db) as store:
        samples = store.memory_samples(jvm.pid)
    assert len({s["time_ms"] for s in samples}) == 3
    text = render_growth(result["samples"])
    assert "Growth of JVM" in text and "<- grows most" in text.split("direct buffers")[1].splitlines()[0]


def _sample_count(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db) as conn:
            return conn.execute("SELECT count(DISTINCT time_ms) FROM memory_samples").fetchone()[0]
    except sqlite3.Error:
        return 0


@pytest.mark.skipif(namespaces_unavailable() is not None, reason=str(namespaces_unavailable()))
def test_a_jvm_in_another_network_namespace_is_explained_without_starting_its_management_agent():
    """The JDK's management agent would listen on the JVM's loopback: not reachable from here, so
    not started; run in the JVM's network namespace, explain reads the pools through it."""
    jdk = JDKS[0]
    folder = shared_folder("unclosed-explain-")  # namespaced JVMs have a /tmp of their own
    jvm = NamespacedJvm(jdk, compile_program(jdk, PROGRAM, folder), PROGRAM, java_options=JAVA_OPTIONS, network=True)
    try:
        jvm.expect("ready")
        jvm.send("direct 64")
        report = explain_json(jvm.pid)
        assert report["jvm"]["heap"] and report["jvm"]["buffer_pools"] is None  # attach reaches it by its host pid
        assert report["notes"] == [
            f"buffer pools not read through the JDK's management agent: JVM {jvm.pid} is in another network namespace "
            "(a container's): the JDK's management agent would listen on that namespace's loopback, out of reach from "
            f"here, so it was not started; `nsenter --target {jvm.pid} --net unclosed explain {jvm.pid}` reaches it"]
        assert LOCAL_CONNECTOR_ADDRESS not in hotspot.execute(jvm.pid, "agentProperties")

        inside = jvm.inside(CLI, "explain", jvm.pid, "--format", "json", net_only=True)
        assert inside.returncode == 0, inside.stderr
        assert abs(row(json.loads(inside.stdout), "direct_buffers") - 64 * MIB) <= MIB
    finally:
        jvm.kill()
        shutil.rmtree(folder, ignore_errors=True)
