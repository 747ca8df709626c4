"""Reports from a database filled through the store with hand-written drain files."""
from __future__ import annotations

import io
import json
import time

import pytest

from helpers.drains import write_drain
from unclosed import Store, write_report
from unclosed.errors import UnclosedError
from unclosed.units import human_bytes

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


def test_json_is_the_documented_contract(store, tmp_path):
    run = fill(store, tmp_path)
    out = io.StringIO()
    write_report(store, out, "json")
    report = json.loads(out.getvalue())
    assert set(report) == {"runs", "sites"}
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


def test_text_names_the_run_and_each_site(store, tmp_path):
    fill(store, tmp_path)
    lines = text_report(store).splitlines()
    assert lines[0] == ("unclosed: run 1 of audit.db: pid 4242 com.example.Main [nightly], "
                        "JDK 17.0.15 (Debian), mode attach")
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(T0 / 1000))
    assert lines[2] == (f"tracking began when the agent was attached, {started}: "
                        "objects created before then are not known")
    at = lines.index("java.util.zip.GZIPOutputStream (zlib): leaked 5 (1.2 MiB) held 2 (512 KiB, oldest 3s) of 9 opened")
    assert lines[at + 1] == "  culprit: com.example.Site2.open(Site2.java:20)"
    assert lines[at + 2:at + 11] == [f"    at {frame}" for frame in FRAMES_B[:8]] + ["    ... 2 more"]
    assert "java.util.zip.GZIPOutputStream (zlib): leaked 5 (1.2 MiB) held 0 (0 B) of 5 opened" in lines
    assert lines[-1] == "total: 5 sites: leaked 11 (2.5 MiB) held 8 (1.4 MiB) of 21 opened"


def test_text_of_a_startup_run_has_no_attach_caveat(store, tmp_path):
    fill(store, tmp_path, mode="startup", label=None)
    text = text_report(store)
    assert "[" not in text.splitlines()[0] and "mode startup" in text
    assert "not known" not in text and "tracking began at JVM start" in text


def test_a_program_that_released_everything_gets_one_line(store, tmp_path):
    fill(store, tmp_path, sites=[SITES[4]])
    body = text_report(store).split("\n\n", 1)[1]
    assert body == "Nothing left unreleased: all 10 objects opened at 1 site were released.\n"
    out = io.StringIO()
    write_report(store, out, "json")
    assert json.loads(out.getvalue())["sites"] == []


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
    assert streams_only[-1] == "total: 1 site: leaked 0 held 3 of 3 opened"

    out = io.StringIO()
    write_report(store, out, "json", families=["direct"])
    report = json.loads(out.getvalue())
    assert report["runs"][0]["direct_pool"] == {"count": 4, "memory_used": 256 * KIB, "total_capacity": 256 * KIB,
                                                "held_by_sites": 2, "bytes_held_by_sites": 128 * KIB}
    assert [(s["kind"], s["released"], s["released_by_gc"], s["detail"]) for s in report["sites"]] == [
        ("java.nio.DirectByteBuffer", 3, 2, None)]


def test_a_run_without_pool_figures_says_nothing_of_them(store, tmp_path):
    fill(store, tmp_path)
    assert "direct buffers:" not in text_report(store)
    out = io.StringIO()
    write_report(store, out, "json")
    assert json.loads(out.getvalue())["runs"][0]["direct_pool"] is None
