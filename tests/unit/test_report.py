"""Reports from a database filled through the store with hand-written drain files."""
from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path

import pytest

from helpers.cli import run_cli
from helpers.drains import write_drain
from unclosed import Store, write_report
from unclosed.datafiles import import_data_folder
from unclosed.errors import UnclosedError
from unclosed.units import human_bytes, printable

T0 = 1_700_000_000_000
KIB = 1024
FRAMES_B = [f"com.example.B.step{i}(B.java:{i + 1})" for i in range(10)]

# site, kind, family, opened, released, leaked, held, bytes_held, bytes_leaked, oldest_held_ms,
# released_by_gc, in_flight, bytes_in_flight
SITES = [
    ("1", "java.util.zip.GZIPOutputStream", "zlib", 5, 0, 5, 0, 0, 5 * 256 * KIB, 0, 0, 0, 0),  # A
    ("2", "java.util.zip.GZIPOutputStream", "zlib", 9, 2, 5, 2, 512 * KIB, 5 * 256 * KIB, T0 + 7000, 0, 0, 0),  # B
    ("3", "java.util.zip.Inflater", "zlib", 3, 0, 0, 3, 3 * 39 * KIB, 0, T0 + 9000, 0, 0, 0),  # C
    ("4", "java.util.zip.Deflater", "zlib", 3, 0, 0, 3, 3 * 256 * KIB, 0, T0 + 8000, 0, 0, 0),  # D
    ("5", "java.util.zip.GZIPInputStream", "zlib", 10, 10, 0, 0, 0, 0, 0, 0, 0, 0),  # E: clean
    ("6", "java.nio.DirectByteBuffer", "direct", 1, 0, 1, 0, 0, 4096, 0, 0, 0, 0),  # F: another family
]


def drain_records(sites=SITES):
    records = [("J", "main_class", "com.example.Main"), ("J", "java_home", "/usr/lib/jvm/java-17")]
    for site, kind, family, *_ in sites:
        records.append(("S", site, "c", kind, family, f"com.example.Site{site}.open(Site{site}.java:{site}0)", ""))
        frames = FRAMES_B if site == "2" else [f"com.example.Site{site}.open(Site{site}.java:{site}0)"]
        records += [("F", site, str(i), frame) for i, frame in enumerate(frames)]
    records += [("C", site, *counts) for site, _, _, *counts in sites]
    return records


def fill(store, tmp_path, sites=SITES, mode="attach", label="nightly", drain_ms=T0 + 10_000):
    info = {"mode": mode, "tracking_since_ms": T0, "java_version": "17.0.15", "java_vendor": "Debian",
            "main_class": "com.example.Main"}
    run = store.begin_run(info, 4242, label)
    store.ingest_drain(run, write_drain(tmp_path / "drain.tsv", drain_records(sites)), time_ms=drain_ms)
    store.end_run(run, "complete")
    return run


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "audit.db") as s:
        yield s


def text_report(store, **options):
    out = io.StringIO()
    write_report(store, out, "text", **options)
    return out.getvalue()


def test_sites_rank_by_leaked_then_held_then_bytes(store, tmp_path):
    fill(store, tmp_path)
    assert [f["site_id"] for f in store.site_findings()] == [2, 1, 6, 4, 3]


def test_clean_sites_are_listed_only_when_asked(store, tmp_path):
    fill(store, tmp_path)
    assert 5 not in [f["site_id"] for f in store.site_findings()]
    assert [f["site_id"] for f in store.site_findings(include_clean=True)][-1] == 5


def test_filters_by_kind_and_family(store, tmp_path):
    fill(store, tmp_path)
    assert [f["site_id"] for f in store.site_findings(kinds=["GZIPOutputStream"])] == [2, 1]
    assert [f["site_id"] for f in store.site_findings(kinds=["java.util.zip.Inflater", "Deflater"])] == [4, 3]
    assert [f["site_id"] for f in store.site_findings(families=["direct"])] == [6]
    assert store.site_findings(kinds=["Inflater"], families=["direct"]) == []


def test_the_latest_run_is_the_default(store, tmp_path):
    first = fill(store, tmp_path)
    second = fill(store, tmp_path, sites=SITES[:1], label="again")
    assert {f["run"] for f in store.site_findings()} == {second}
    assert len(store.site_findings(run_id=first)) == 5


def json_report(store, **options) -> dict:
    out = io.StringIO()
    write_report(store, out, "json", **options)
    return json.loads(out.getvalue())


def test_json_is_the_documented_contract(store, tmp_path):
    run = fill(store, tmp_path)
    report = json_report(store)
    assert set(report) == {"runs", "findings", "sites", "preexisting"}
    assert [r["id"] for r in report["runs"]] == [run]
    assert report["runs"][0]["status"] == "complete" and report["runs"][0]["pid"] == 4242
    first = report["sites"][0]
    assert first == {
        "run": run, "site_id": 2, "role": "c", "kind": "java.util.zip.GZIPOutputStream", "family": "zlib",
        "unknown": False, "opened": 9, "released": 2, "leaked": 5, "held": 2, "in_flight": 0, "released_by_gc": 0,
        "bytes_leaked": 5 * 256 * KIB, "bytes_held": 512 * KIB, "bytes_in_flight": 0, "oldest_held_age_s": 3.0,
        "culprit": "com.example.Site2.open(Site2.java:20)", "detail": None, "frames": FRAMES_B,
    }
    assert report["sites"][1]["oldest_held_age_s"] is None  # holds nothing
    # Each site here has a line of its own: a finding each, in the same order.
    assert [(f["culprit"], f["sites"]) for f in report["findings"]] == [
        (s["culprit"], [{"run": run, "site_id": s["site_id"]}]) for s in report["sites"]]
    assert report["preexisting"] == []


def test_text_by_site_names_the_run_and_each_site(store, tmp_path):
    fill(store, tmp_path)
    lines = text_report(store, by="site").splitlines()
    assert lines[0] == ("unclosed: run 1 of audit.db: pid 4242 com.example.Main [nightly], "
                        "JDK 17.0.15 (Debian), mode attach")
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(T0 / 1000))
    assert lines[2] == (f"tracking began when the agent was attached, {started}: "
                        "objects created before then have no creation stacks (those still alive then are counted apart, below)")
    at = lines.index("java.util.zip.GZIPOutputStream (zlib): leaked 5 (1.2 MiB) held 2 (512 KiB, oldest 3s) of 9 opened")
    assert lines[at + 1] == "  culprit: com.example.Site2.open(Site2.java:20)"
    assert lines[at + 2:at + 11] == [f"    at {frame}" for frame in FRAMES_B[:8]] + ["    ... 2 more"]
    assert "java.util.zip.GZIPOutputStream (zlib): leaked 5 (1.2 MiB) held 0 (0 B) of 5 opened" in lines
    assert lines[-1] == "total: 5 sites: leaked 11 (2.5 MiB) held 8 (1.4 MiB) of 21 opened"


def test_text_of_a_startup_run_has_no_attach_caveat_and_its_real_duration(store, tmp_path):
    fill(store, tmp_path, mode="startup", label=None)
    text = text_report(store)
    assert "[" not in text.splitlines()[0] and "mode startup" in text
    assert "not known" not in text and "tracking began at JVM start" in text
    # Recorded from the JVM's start (tracking_since_ms) to its last drain, not from when `record` began.
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(T0 / 1000))
    assert text.splitlines()[1] == f"recorded {started} for 10s, 1 drain, complete"
    assert json_report(store)["runs"][0]["duration_s"] == 10.0


def test_a_program_that_released_everything_gets_one_line(store, tmp_path):
    fill(store, tmp_path, sites=[SITES[4]])
    body = text_report(store).split("\n\n", 1)[1]
    assert body == "Nothing left unreleased: all 10 objects opened at 1 site were released.\n"
    assert json_report(store)["sites"] == [] and json_report(store)["findings"] == []


def test_filters_that_match_nothing_say_what_else_there_is(store, tmp_path):
    fill(store, tmp_path)
    body = text_report(store, kinds=["GZIPInputStream"]).split("\n\n", 1)[1]
    assert body == "Nothing unreleased of GZIPInputStream; the run has 11 leaked and 8 held objects of other kinds.\n"


def test_an_empty_database_and_a_missing_run_are_clear_errors(store, tmp_path):
    with pytest.raises(UnclosedError, match="has no runs yet"):
        text_report(store)
    fill(store, tmp_path)
    with pytest.raises(UnclosedError, match="has no run 9"):
        text_report(store, run_id=9)
    with pytest.raises(UnclosedError, match="unknown report format"):
        write_report(store, io.StringIO(), "xml")


@pytest.mark.parametrize("n, text", [(0, "0 B"), (1023, "1023 B"), (1024, "1 KiB"), (1536, "1.5 KiB"),
                                     (268288, "262 KiB"), (5 * 1024 ** 2, "5 MiB"), (3 * 1024 ** 4, "3072 GiB")])
def test_human_bytes(n, text):
    assert human_bytes(n) == text


def fill_direct_and_streams(store, tmp_path):
    """A run with a direct buffer site (2 held, 3 released: 2 by the GC), a stream site (held, no
    size, with its stages) and the JVM's direct pool figures."""
    run = store.begin_run({"mode": "startup", "tracking_since_ms": T0, "main_class": "com.example.Main"}, 4242)
    records = [
        ("S", "1", "c", "java.nio.DirectByteBuffer", "direct", "com.example.Buffers.grow(Buffers.java:5)", ""),
        ("F", "1", "0", "com.example.Buffers.grow(Buffers.java:5)"),
        ("S", "2", "c", "akka.stream.Source.actorRef", "actor", "com.example.Streams.run(Streams.java:7)",
         "stages: ActorRefSource, GraphStages$IgnoreSink"),
        ("F", "2", "0", "com.example.Streams.run(Streams.java:7)"),
        ("C", "1", "5", "3", "0", "2", str(2 * 64 * KIB), "0", str(T0 + 8000), "2", "0", "0"),
        ("C", "2", "3", "0", "0", "3", "0", "0", str(T0 + 4000), "0", "0", "0"),
        ("N", "direct_pool_count", "4"), ("N", "direct_pool_used", str(256 * KIB)),
        ("N", "direct_pool_capacity", str(256 * KIB)),
    ]
    store.ingest_drain(run, write_drain(tmp_path / "drain.tsv", records), time_ms=T0 + 10_000)
    store.end_run(run, "complete")
    return run


def test_direct_buffers_and_streams_read_as_what_they_are(store, tmp_path):
    fill_direct_and_streams(store, tmp_path)
    lines = text_report(store).splitlines()
    assert ("direct buffers: the JVM's pool holds 4 (256 KiB used, capacity 256 KiB); "
            "the direct sites hold 2 (128 KiB), 50% of it") in lines
    assert ("java.nio.DirectByteBuffer (direct): held 2 (128 KiB, oldest 2s) of 5 opened, "
            "released 3 (2 by the GC)") in lines
    at = lines.index("akka.stream.Source.actorRef (actor): leaked 0 held 3 (oldest 6s) of 3 opened")
    assert lines[at + 1:at + 3] == ["  culprit: com.example.Streams.run(Streams.java:7)",
                                    "  stages: ActorRefSource, GraphStages$IgnoreSink"]
    streams_only = text_report(store, families=["actor"]).splitlines()
    assert not any(line.startswith("direct buffers:") for line in streams_only)
    assert streams_only[-1] == "total: 1 finding (1 site): leaked 0 held 3 of 3 opened"

    report = json_report(store, families=["direct"])
    assert report["runs"][0]["direct_pool"] == {"count": 4, "memory_used": 256 * KIB, "total_capacity": 256 * KIB,
                                                "held_by_sites": 2, "bytes_held_by_sites": 128 * KIB}
    assert [(s["kind"], s["released"], s["released_by_gc"], s["detail"]) for s in report["sites"]] == [
        ("java.nio.DirectByteBuffer", 3, 2, None)]


def test_a_run_without_pool_figures_says_nothing_of_them(store, tmp_path):
    fill(store, tmp_path)
    assert "direct buffers:" not in text_report(store)
    assert json_report(store)["runs"][0]["direct_pool"] is None


# -- a build's test JVM: findings with their tests and paths, and what is counted apart -----------

DEFLATER, INFLATER = 268288, 39936
CODEC = "com.acme.Codec.compress(Codec.java:12)"
GZ_TOP = ["java.util.zip.Deflater.<init>(Deflater.java:202)",
          "java.util.zip.GZIPOutputStream.<init>(GZIPOutputStream.java:93)", CODEC]
# JUnit 5 below a test method, on JDK 17.
RUNNER = ["jdk.internal.reflect.NativeMethodAccessorImpl.invoke0(Native Method)",
          "jdk.internal.reflect.NativeMethodAccessorImpl.invoke(NativeMethodAccessorImpl.java:77)",
          "java.lang.reflect.Method.invoke(Method.java:568)",
          "org.junit.platform.commons.util.ReflectionUtils.invokeMethod(ReflectionUtils.java:725)",
          "org.junit.jupiter.engine.execution.MethodInvocation.proceed(MethodInvocation.java:60)"]
BY_SERVICE = GZ_TOP + ["com.acme.Service.handle(Service.java:30)", "com.acme.CodecTest.compresses(CodecTest.java:20)"]
BY_BATCH = GZ_TOP + ["com.acme.Batch.run(Batch.java:8)", "com.acme.BatchTest.runs(BatchTest.java:14)"]


def declared(site_id, role, kind, family, culprit, frames, detail=""):
    return [("S", site_id, role, kind, family, culprit, detail)] + [("F", site_id, i, f) for i, f in enumerate(frames)]


def build_records(sample=1, culprit=CODEC, test="com.acme.CodecTest.compresses"):
    """A test JVM: one line (Codec.compress:12) leaked through two paths, objects of the first
    attributed to tests by the agent, of the second not (their frames name the test); an Inflater
    held and one in flight; a JDK cache; a site that released everything; a Deflater only in
    flight; Deflaters and Inflaters that existed before tracking (60 of 100 still held); and what
    the agent could not count at attach."""
    return [
        ("J", "main_class", "worker.org.gradle.process.internal.worker.GradleWorkerMain"), ("J", "mode", "attach"),
        ("J", "tracking_since_ms", T0), ("J", "java_version", "17.0.15"), ("J", "java_vendor", "Debian"),
        ("J", "sample", sample),
        ("T", 1, "Test worker"), ("U", 1, test), ("U", 2, "com.acme.CodecTest.roundTrips"),
        *declared(1, "c", "java.util.zip.GZIPOutputStream", "zlib", culprit,
                  [culprit if frame == CODEC else frame for frame in BY_SERVICE + RUNNER]),
        *declared(2, "c", "java.util.zip.GZIPOutputStream", "zlib", culprit,
                  [culprit if frame == CODEC else frame for frame in BY_BATCH + RUNNER]),
        *declared(3, "c", "java.util.zip.Inflater", "zlib", "com.acme.Reader.read(Reader.java:7)",
                  ["java.util.zip.Inflater.<init>(Inflater.java:1)", "com.acme.Reader.read(Reader.java:7)",
                   "java.util.concurrent.ThreadPoolExecutor.runWorker(ThreadPoolExecutor.java:1136)",
                   "java.lang.Thread.run(Thread.java:833)"]),
        *declared(4, "c", "java.nio.DirectByteBuffer", "direct", "",
                  ["java.nio.ByteBuffer.allocateDirect(ByteBuffer.java:332)",
                   "sun.nio.ch.Util.getTemporaryDirectBuffer(Util.java:243)"]),
        *declared(5, "c", "java.util.zip.Inflater", "zlib", "com.acme.Ok.read(Ok.java:3)",
                  ["com.acme.Ok.read(Ok.java:3)"]),
        *declared(6, "c", "java.util.zip.Deflater", "zlib", "com.acme.Fresh.make(Fresh.java:5)",
                  ["com.acme.Fresh.make(Fresh.java:5)"]),
        *declared(7, "p", "java.util.zip.Deflater", "zlib", "", []),
        *declared(8, "p", "java.util.zip.Inflater", "zlib", "", []),
        ("O", 10, 1, 1, T0 + 100, DEFLATER, 1), ("O", 11, 1, 1, T0 + 110, DEFLATER, 1),
        ("O", 12, 1, 1, T0 + 120, DEFLATER, 2), ("O", 13, 1, 1, T0 + 130, DEFLATER, 1),
        ("O", 20, 2, 1, T0 + 200, DEFLATER, 0), ("O", 21, 2, 1, T0 + 210, DEFLATER, 0),
        ("L", 10, T0 + 500), ("L", 11, T0 + 500), ("L", 12, T0 + 500), ("L", 20, T0 + 500), ("L", 21, T0 + 500),
        ("C", 1, 5, 1, 3, 1, DEFLATER, 3 * DEFLATER, T0 + 130, 0, 0, 0),
        ("C", 2, 2, 0, 2, 0, 0, 2 * DEFLATER, 0, 0, 0, 0),
        ("C", 3, 3, 1, 0, 2, 2 * INFLATER, 0, T0 + 300, 0, 1, INFLATER),
        ("C", 4, 1, 0, 0, 1, 8192, 0, T0 + 400, 0, 0, 0),
        ("C", 5, 4, 4, 0, 0, 0, 0, 0, 0, 0, 0),
        ("C", 6, 1, 0, 0, 1, DEFLATER, 0, T0 + 9900, 0, 1, DEFLATER),
        ("C", 7, 100, 40, 0, 60, 60 * DEFLATER, 0, T0 - 5000, 0, 0, 0),
        ("C", 8, 20, 0, 0, 20, 20 * INFLATER, 0, T0 - 5000, 0, 0, 0),
        ("N", "preexisting_excluded_zip_pool", 12),
        ("I", "actor", "Akka: no running actor system found: streams alive at attach not counted"),
        ("Z", T0 + 10_000),
    ]


def fill_build(store, tmp_path, records=None, session="5e5510a") -> int:
    run = store.begin_run({"session": session}, 4242, "nightly")
    store.ingest_drain(run, write_drain(tmp_path / f"{session}.tsv", records or build_records(), session=session),
                       time_ms=T0 + 10_000)
    store.end_run(run, "complete")
    return run


def test_text_lists_findings_with_tests_and_a_path_and_counts_the_rest_apart(store, tmp_path):
    fill_build(store, tmp_path)
    body = text_report(store).split("\n\n", 1)[1]
    assert body.splitlines() == [
        "java.util.zip.GZIPOutputStream (zlib): leaked 5 (1.3 MiB) held 1 (262 KiB, oldest 9.9s) of 7 opened",
        "  culprit: com.acme.Codec.compress(Codec.java:12)",
        "  tests: com.acme.CodecTest.compresses (3), com.acme.BatchTest.runs (2), com.acme.CodecTest.roundTrips (1)",
        "    at com.acme.Service.handle(Service.java:30)",
        "    at com.acme.CodecTest.compresses(CodecTest.java:20)",
        "    ...",
        "  and 1 more path",
        "",
        "java.util.zip.Inflater (zlib): leaked 0 (0 B) held 1 (39 KiB, oldest 9.7s) of 3 opened",
        "  culprit: com.acme.Reader.read(Reader.java:7)",
        "    at java.util.concurrent.ThreadPoolExecutor.runWorker(ThreadPoolExecutor.java:1136)",
        "    at java.lang.Thread.run(Thread.java:833)",
        "",
        "total: 2 findings (3 sites): leaked 5 (1.3 MiB) held 2 (301 KiB) of 10 opened",
        "in flight: 2 objects (301 KiB) created within a drain interval of the last drain, most likely still in use: "
        "not counted as held (--all lists them)",
        "the JDK's own: 1 site with no frame outside the JDK (its caches, such as temporary direct buffers): "
        "leaked 0 (0 B) held 1 (8 KiB) of 1 opened; not findings (--by site lists them)",
        "existed before tracking: 100 java.util.zip.Deflater, no creation stacks: 60 still held at the end "
        "(~15.4 MiB), 40 released",
        "existed before tracking: 20 java.util.zip.Inflater (~780 KiB), no creation stacks",
        "existed before tracking, not counted: 12 Inflaters that ZipFile pools for open jar and zip files "
        "(it ends them itself)",
        "existed before tracking, not counted (actor): Akka: no running actor system found: "
        "streams alive at attach not counted",
    ]
    by_site = text_report(store, by="site")
    assert "  culprit: (no frame outside the JDK)\n    at java.nio.ByteBuffer.allocateDirect" in by_site
    assert "\ntotal: 4 sites: leaked 5 (1.3 MiB) held 3 (309 KiB) of 11 opened\n" in by_site


def test_all_shows_what_is_in_flight_and_what_released_everything(store, tmp_path):
    fill_build(store, tmp_path)
    lines = text_report(store, include_clean=True).splitlines()
    assert "java.util.zip.Inflater (zlib): leaked 0 (0 B) held 1 (39 KiB, oldest 9.7s) of 3 opened, 1 in flight" in lines
    assert "java.util.zip.Deflater (zlib): leaked 0 (0 B) held 0 (0 B) of 1 opened, 1 in flight" in lines
    assert "java.util.zip.Inflater (zlib): leaked 0 (0 B) held 0 (0 B) of 4 opened" in lines
    assert ("in flight: 2 objects (301 KiB) created within a drain interval of the last drain, most likely still in "
            "use: not counted as held") in lines


def test_json_has_findings_sites_and_what_existed_before(store, tmp_path):
    run = fill_build(store, tmp_path)
    report = json_report(store)
    assert report["findings"][0] == {
        "kind": "java.util.zip.GZIPOutputStream", "family": "zlib", "culprit": CODEC,
        "opened": 7, "released": 1, "leaked": 5, "held": 1, "in_flight": 0, "released_by_gc": 0,
        "bytes_leaked": 5 * DEFLATER, "bytes_held": DEFLATER, "bytes_in_flight": 0, "oldest_held_age_s": 9.9,
        "paths": 2, "runs": [run], "sites": [{"run": run, "site_id": 1}, {"run": run, "site_id": 2}],
        "tests": [{"name": "com.acme.CodecTest.compresses", "objects": 3},
                  {"name": "com.acme.BatchTest.runs", "objects": 2},
                  {"name": "com.acme.CodecTest.roundTrips", "objects": 1}]}
    assert [(f["culprit"], f["held"], f["in_flight"]) for f in report["findings"][1:]] == [
        ("com.acme.Reader.read(Reader.java:7)", 1, 1)]
    assert report["preexisting"] == [
        {"kind": "java.util.zip.Deflater", "family": "zlib", "count": 100, "held": 60, "released": 40, "leaked": 0,
         "bytes": 60 * DEFLATER, "detail": None},
        {"kind": "java.util.zip.Inflater", "family": "zlib", "count": 20, "held": 20, "released": 0, "leaked": 0,
         "bytes": 20 * INFLATER, "detail": None}]
    assert [(s["site_id"], s["role"]) for s in report["sites"]] == [(1, "c"), (2, "c"), (7, "p"), (8, "p"), (3, "c"),
                                                                     (4, "c")]
    jvm = report["runs"][0]
    assert (jvm["duration_s"], jvm["sampled"], jvm["counters"], jvm["notes"]) == (
        10.0, None, {"preexisting_excluded_zip_pool": 12},
        [{"family": "actor", "text": "Akka: no running actor system found: streams alive at attach not counted"}])
    for item in json_report(store, include_clean=True)["findings"] + json_report(store, include_clean=True)["sites"]:
        assert item["opened"] == item["released"] + item["leaked"] + item["held"] + item["in_flight"], item


def test_sampled_counts_say_so_in_the_header_the_total_and_json(store, tmp_path):
    fill_build(store, tmp_path, build_records(sample=4))
    lines = text_report(store).splitlines()
    assert lines[3] == ("sampled, about 4 x: the agent tracked 1 object in 4; the counts and bytes below are of "
                        "tracked objects, so about 4 times as many in all (an estimate; a site that leaked only a few "
                        "times may be missing)")
    assert "total: 2 findings (3 sites): leaked 5 (1.3 MiB) held 2 (301 KiB) of 10 opened (sampled, about 4 x)" in lines
    assert json_report(store)["runs"][0]["sampled"] == "sampled, about 4 x"


def test_a_report_shows_every_jvm_of_the_latest_batch(store, tmp_path):
    """A data folder of two test JVMs imported: one batch. Their findings merge; `--run` picks one."""
    folder = tmp_path / "data"
    folder.mkdir()
    for pid, session in ((31201, "a1"), (31202, "b2")):
        path = write_drain(folder / f"unclosed-{pid}-{session}-1.tsv", build_records(), session=session)
        os.utime(path, ((T0 + 10_000) / 1000,) * 2)  # an import dates a drain by its file
    first, second = (jvm["run_id"] for jvm in import_data_folder(store, folder, "nightly"))
    text = text_report(store)
    assert [line.split(":")[1] for line in text.splitlines() if line.startswith("unclosed: run")] == [
        f" run {first} of audit.db", f" run {second} of audit.db"]
    assert ("java.util.zip.GZIPOutputStream (zlib): leaked 10 (2.6 MiB) held 2 (524 KiB, oldest 9.9s) of 14 opened, "
            "in 2 JVMs") in text.splitlines()
    assert "  tests: com.acme.CodecTest.compresses (6), com.acme.BatchTest.runs (4), com.acme.CodecTest.roundTrips (2)" \
        in text.splitlines()
    assert "existed before tracking: 200 java.util.zip.Deflater, no creation stacks: 120 still held at the end " \
           "(~30.7 MiB), 80 released" in text.splitlines()
    report = json_report(store)
    assert [r["id"] for r in report["runs"]] == [first, second]
    assert report["findings"][0]["paths"] == 2 and report["findings"][0]["runs"] == [first, second]
    assert report["findings"][0]["sites"] == [{"run": first, "site_id": 1}, {"run": second, "site_id": 1},
                                              {"run": first, "site_id": 2}, {"run": second, "site_id": 2}]
    assert [r["id"] for r in json_report(store, run_id=first)["runs"]] == [first]
    # A recording made after is a batch of its own, and the latest.
    alone = fill_build(store, tmp_path, session="c3")
    assert [r["id"] for r in json_report(store)["runs"]] == [alone]
    assert ", in " not in text_report(store)


def test_text_escapes_control_characters_from_class_metadata(store, tmp_path):
    hostile = "com.evil.X.run(X\x1b[2J\x00.java:1)"
    fill_build(store, tmp_path, build_records(culprit=hostile, test="com.evil.XTest.t\x1b]0;pwned\x07"))
    text = text_report(store) + text_report(store, by="site")
    assert "\x1b" not in text and "\x00" not in text and "\x07" not in text
    assert "  culprit: com.evil.X.run(X\\x1b[2J\\x00.java:1)" in text
    assert "  tests: com.evil.XTest.t\\x1b]0;pwned\\x07 (3)," in text
    out = io.StringIO()
    write_report(store, out, "collapsed")
    assert "\x1b" not in out.getvalue() and "com.evil.X.run(X\\x1b[2J\\x00.java:1)" in out.getvalue()
    assert json_report(store)["findings"][0]["culprit"] == hostile  # JSON escapes it itself


@pytest.mark.parametrize("text, shown", [("plain é ü", "plain é ü"), ("tab\there", "tab\\x09here"),
                                         ("bell\x07 del\x7f c1\x9b", "bell\\x07 del\\x7f c1\\x9b"),
                                         ("line\nbreak\r", "line\\x0abreak\\x0d")])
def test_printable_escapes_c0_c1_and_del(text, shown):
    assert printable(text) == shown


def test_the_cli_lists_findings_or_sites(store, tmp_path):
    fill_build(store, tmp_path)
    store.close()
    by_finding = run_cli("report", tmp_path / "audit.db")
    by_site = run_cli("report", tmp_path / "audit.db", "--by", "site")
    assert by_finding.returncode == by_site.returncode == 0, by_finding.stderr + by_site.stderr
    assert "\n  and 1 more path\n" in by_finding.stdout and "\ntotal: 2 findings (3 sites): " in by_finding.stdout
    assert "\ntotal: 4 sites: " in by_site.stdout


def test_the_readme_documents_every_field_of_the_json(store, tmp_path):
    fill_build(store, tmp_path)
    report = json_report(store, include_clean=True)
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    contract = readme.split("## `report --format json`", 1)[1].split("\n## ", 1)[0]
    fields = {*report, *report["runs"][0],
              *(key for part in ("findings", "sites", "preexisting") for item in report[part] for key in item)}
    assert sorted(f for f in fields if f'`{f}`' not in contract and f'"{f}"' not in contract) == []
