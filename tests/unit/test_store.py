"""The SQLite store, fed drain files written by hand after docs/protocol.md."""
from __future__ import annotations

import hashlib
import json
import sqlite3
import time

import pytest

from unclosed import Store
from unclosed.errors import StoreError

T0 = 1_700_000_000_000
DEFLATER, INFLATER = 268288, 39936

FIRST_DRAIN = [
    ("J", "pid", "4242"), ("J", "java_version", "17.0.15"), ("J", "java_vendor", "Debian"),
    ("J", "java_home", "/usr/lib/jvm/java-17"), ("J", "main_class", "com.example.Main"),
    ("J", "mode", "attach"), ("J", "tracking_since_ms", str(T0)), ("J", "agent_version", "0.1.0"),
    ("J", "sample", "1"),
    ("T", "1", "main"), ("T", "7", "worker-1"),
    ("S", "1", "c", "java.util.zip.GZIPOutputStream", "zlib", "com.example.Logger.log(Logger.java:12)"),
    ("F", "1", "0", "java.util.zip.Deflater.<init>(Deflater.java:202)"),
    ("F", "1", "1", "java.util.zip.GZIPOutputStream.<init>(GZIPOutputStream.java:93)"),
    ("F", "1", "2", "com.example.Logger.log(Logger.java:12)"),
    ("S", "2", "c", "java.util.zip.Inflater", "zlib", "com.example.Reader.read(Reader.java:30)"),
    ("F", "2", "0", "com.example.Reader.read(Reader.java:30)"),
    ("S", "3", "r", "", "", "com.example.Reader.read(Reader.java:33)"),
    ("F", "3", "0", "java.util.zip.Inflater.end(Inflater.java:1)"),
    ("F", "3", "1", "com.example.Reader.read(Reader.java:33)"),
    ("O", "100", "1", "1", str(T0 + 1000), str(DEFLATER)),
    ("O", "101", "1", "7", str(T0 + 1100), str(DEFLATER)),
    ("O", "102", "2", "7", str(T0 + 1200), str(INFLATER)),
    ("O", "103", "2", "1", str(T0 + 1300), str(INFLATER)),
    ("R", "102", "3", "7", str(T0 + 1250)),
    ("L", "100", str(T0 + 1500)),
    # site, opened, released, leaked, held, bytes_held, bytes_leaked, oldest_held_ms
    ("C", "1", "2", "0", "1", "1", str(DEFLATER), str(DEFLATER), str(T0 + 1100)),
    ("C", "2", "2", "1", "0", "1", str(INFLATER), "0", str(T0 + 1300)),
    ("N", "dropped_events", "0"), ("N", "held", "2"),
    ("E", str(T0 + 1600), "could not read a stack"),
]

SECOND_DRAIN = [
    ("O", "104", "1", "1", str(T0 + 2000), str(DEFLATER)),
    ("R", "101", "3", "1", str(T0 + 2100)),  # opened in the first drain
    ("L", "999", str(T0 + 2200)),  # its O was dropped
    ("R", "555", "3", "1", str(T0 + 2300)),  # its O comes in the next drain
    ("Q", "a record", "of a later format"),
    ("C", "1", "3", "1", "1", "1", str(DEFLATER), str(DEFLATER), str(T0 + 2000)),
    ("C", "2", "2", "1", "0", "1", str(INFLATER), "0", str(T0 + 1300)),  # unchanged
]

THIRD_DRAIN = [("O", "555", "2", "7", str(T0 + 2250), str(INFLATER))]

INFO = {"pid": 4242, "mode": "attach", "tracking_since_ms": T0, "java_version": "17.0.15",
        "java_vendor": "Debian", "main_class": "com.example.Main"}


def write_drain(path, records, first_line="V\t1"):
    path.write_text("\n".join([first_line, *("\t".join(r) for r in records)]) + "\n")
    return path


def rows(store, sql, *params):
    return store.conn.execute(sql, params).fetchall()


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "audit.db") as s:
        yield s


def test_a_new_database_is_marked_as_ours(tmp_path):
    Store(tmp_path / "new.db").close()
    conn = sqlite3.connect(tmp_path / "new.db")
    assert dict(conn.execute("SELECT key, value FROM meta")) == {"application": "unclosed", "schema_version": "1"}
    Store(tmp_path / "new.db").close()  # and opens again


def test_an_empty_file_becomes_a_database(tmp_path):
    (tmp_path / "empty.db").touch()
    with Store(tmp_path / "empty.db") as s:
        assert s.runs() == []


def test_first_drain_is_stored_exactly(store, tmp_path):
    run = store.begin_run(INFO, 4242, "first")
    summary = store.ingest_drain(run, write_drain(tmp_path / "d1.tsv", FIRST_DRAIN), time_ms=T0 + 5000)

    assert summary == {"events": 6, "new_sites": 3, "opened": 4, "released": 1, "leaked": 1, "held": 2,
                       "sites": 2, "errors": 1}
    r = store.run(run)
    assert (r["pid"], r["label"], r["status"], r["drains"], r["last_drain_ms"]) == (4242, "first", "recording", 1, T0 + 5000)
    assert (r["java_home"], r["agent_version"], r["tracking_since_ms"]) == ("/usr/lib/jvm/java-17", "0.1.0", T0)
    assert rows(store, "SELECT object_id, site_id, thread_id, created_ms, bytes, state, released_ms, "
                       "release_site_id, release_thread_id, reclaimed_ms FROM objects ORDER BY object_id") == [
        (100, 1, 1, T0 + 1000, DEFLATER, "leaked", None, None, None, T0 + 1500),
        (101, 1, 7, T0 + 1100, DEFLATER, "held", None, None, None, None),
        (102, 2, 7, T0 + 1200, INFLATER, "released", T0 + 1250, 3, 7, None),
        (103, 2, 1, T0 + 1300, INFLATER, "held", None, None, None, None),
    ]
    sites = rows(store, "SELECT agent_site_id, role, kind, family, culprit, frames, top_frame FROM sites ORDER BY 1")
    assert sites[0][:5] == (1, "c", "java.util.zip.GZIPOutputStream", "zlib", "com.example.Logger.log(Logger.java:12)")
    assert json.loads(sites[0][5]) == ["java.util.zip.Deflater.<init>(Deflater.java:202)",
                                       "java.util.zip.GZIPOutputStream.<init>(GZIPOutputStream.java:93)",
                                       "com.example.Logger.log(Logger.java:12)"]
    assert sites[0][6] == "java.util.zip.Deflater.<init>(Deflater.java:202)"
    assert sites[2][:4] == (3, "r", None, None)
    assert rows(store, "SELECT thread_id, name FROM threads ORDER BY 1") == [(1, "main"), (7, "worker-1")]
    assert rows(store, "SELECT site_id, drain, time_ms, opened, released, leaked, held, bytes_held, bytes_leaked, "
                       "oldest_held_ms FROM site_counts ORDER BY site_id") == [
        (1, 1, T0 + 5000, 2, 0, 1, 1, DEFLATER, DEFLATER, T0 + 1100),
        (2, 1, T0 + 5000, 2, 1, 0, 1, INFLATER, 0, T0 + 1300),
    ]
    assert rows(store, "SELECT name, value FROM agent_counters ORDER BY name") == [("dropped_events", 0), ("held", 2)]
    assert rows(store, "SELECT time_ms, message FROM errors") == [(T0 + 1600, "could not read a stack")]


def test_later_drains_complete_what_earlier_ones_began(store, tmp_path):
    run = store.begin_run(INFO, 4242)
    store.ingest_drain(run, write_drain(tmp_path / "d1.tsv", FIRST_DRAIN), time_ms=T0 + 5000)
    summary = store.ingest_drain(run, write_drain(tmp_path / "d2.tsv", SECOND_DRAIN), time_ms=T0 + 10000)
    store.ingest_drain(run, write_drain(tmp_path / "d3.tsv", THIRD_DRAIN), time_ms=T0 + 15000)

    assert summary == {"events": 4, "new_sites": 0, "opened": 5, "released": 2, "leaked": 1, "held": 2,
                       "sites": 2, "errors": 0}
    objects = {r[0]: r[1:] for r in rows(store, "SELECT object_id, state, site_id, created_ms, released_ms, "
                                                "release_site_id, reclaimed_ms FROM objects")}
    assert objects[101] == ("released", 1, T0 + 1100, T0 + 2100, 3, None)
    assert objects[104] == ("held", 1, T0 + 2000, None, None, None)
    assert objects[999] == ("leaked", None, None, None, None, T0 + 2200)  # all that is known of it
    assert objects[555] == ("released", 2, T0 + 2250, T0 + 2300, 3, None)  # its R came first, and is kept
    # A row per site whenever its counters changed: site 2 did not change after the first drain.
    assert rows(store, "SELECT site_id, drain, opened FROM site_counts ORDER BY site_id, drain") == [
        (1, 1, 2), (1, 2, 3), (2, 1, 2)]
    assert store.run(run)["drains"] == 3


def test_an_x_record_is_an_object_opened_and_released_in_one_drain(store, tmp_path):
    run = store.begin_run(INFO, 4242)
    summary = store.ingest_drain(run, write_drain(tmp_path / "d.tsv", [
        ("S", "1", "c", "java.util.zip.Deflater", "zlib", "app.Main.main(Main.java:5)"),
        ("F", "1", "0", "app.Main.main(Main.java:5)"),
        ("X", "7", "1", "2", str(T0 + 10), str(DEFLATER), "3", "4", str(T0 + 20)),
        ("C", "1", "1", "1", "0", "0", "0", "0", "0")]))
    assert summary["events"] == 2
    assert rows(store, "SELECT object_id, state, site_id, thread_id, created_ms, bytes, release_site_id, "
                       "release_thread_id, released_ms FROM objects") == [
        (7, "released", 1, 2, T0 + 10, DEFLATER, 3, 4, T0 + 20)]


def test_a_file_that_is_not_a_drain_is_refused_and_nothing_stored(store, tmp_path):
    run = store.begin_run(INFO, 4242)
    with pytest.raises(StoreError, match=r"not a drain file of format 1 \(its first line is 'V\\t2'\)"):
        store.ingest_drain(run, write_drain(tmp_path / "d.tsv", FIRST_DRAIN, first_line="V\t2"))
    with pytest.raises(StoreError, match="not a drain file"):
        store.ingest_drain(run, write_drain(tmp_path / "e.tsv", [], first_line=""))
    with pytest.raises(StoreError, match="cannot read drain file"):
        store.ingest_drain(run, tmp_path / "missing.tsv")
    assert store.run(run)["drains"] == 0


@pytest.mark.parametrize("bad", [("O", "1", "2"), ("C", "1", "x"), ("F", "9", "0", "no such site")])
def test_a_malformed_drain_stores_nothing(store, tmp_path, bad):
    run = store.begin_run(INFO, 4242)
    with pytest.raises(StoreError):
        store.ingest_drain(run, write_drain(tmp_path / "d.tsv", FIRST_DRAIN + [bad]))
    assert store.run(run)["drains"] == 0
    assert rows(store, "SELECT count(*) FROM objects") == [(0,)]
    assert rows(store, "SELECT count(*) FROM sites") == [(0,)]


def test_recording_again_adds_a_run_and_overwrites_nothing(tmp_path):
    db = tmp_path / "audit.db"
    with Store(db) as s:
        first = s.begin_run(INFO, 4242, "monday")
        s.ingest_drain(first, write_drain(tmp_path / "d1.tsv", FIRST_DRAIN))
        s.end_run(first, "complete")
    with Store(db) as s:
        second = s.begin_run(dict(INFO, tracking_since_ms=T0 + 99), 5151, "tuesday")
        s.ingest_drain(second, write_drain(tmp_path / "d1.tsv", FIRST_DRAIN))
        s.end_run(second, "incomplete")
        assert [(r["id"], r["pid"], r["label"], r["status"]) for r in s.runs()] == [
            (first, 4242, "monday", "complete"), (second, 5151, "tuesday", "incomplete")]
        assert rows(s, "SELECT run_id, count(*) FROM objects GROUP BY run_id") == [(first, 4), (second, 4)]
        assert s.run()["id"] == second  # the latest
        assert s.run(first)["ended_ms"] >= s.run(first)["started_ms"]


def test_a_second_run_of_the_same_agent_knows_the_stacks_it_sent_before(tmp_path):
    with Store(tmp_path / "audit.db") as s:
        first = s.begin_run(INFO, 4242)
        s.ingest_drain(first, write_drain(tmp_path / "d1.tsv", FIRST_DRAIN))
        s.end_run(first, "complete")
        second = s.begin_run(INFO, 4242)  # same pid, same tracking start: the same agent
        s.ingest_drain(second, write_drain(tmp_path / "d2.tsv", SECOND_DRAIN))
        assert rows(s, "SELECT agent_site_id, kind FROM sites WHERE run_id = ? ORDER BY 1", second) == [
            (1, "java.util.zip.GZIPOutputStream"), (2, "java.util.zip.Inflater"), (3, None)]
        assert rows(s, "SELECT count(*) FROM threads WHERE run_id = ?", second) == [(2,)]


def test_runs_end_complete_or_incomplete(store):
    run = store.begin_run(INFO, 4242)
    with pytest.raises(ValueError):
        store.end_run(run, "recording")
    with pytest.raises(StoreError, match="has no run 99"):
        store.run(99)


def test_ingesting_into_a_missing_run_fails_clearly(store, tmp_path):
    with pytest.raises(StoreError, match="has no run 7"):
        store.ingest_drain(7, write_drain(tmp_path / "d.tsv", FIRST_DRAIN))


def assert_refused_untouched(path, message):
    before, listing = digest(path), sorted(p.name for p in path.parent.iterdir())
    with pytest.raises(StoreError, match=message) as refused:
        Store(path)
    assert "\n" not in str(refused.value)
    assert digest(path) == before
    assert sorted(p.name for p in path.parent.iterdir()) == listing


def test_a_database_of_another_application_is_refused_untouched(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT)")
    conn.execute("INSERT INTO accounts (owner) VALUES ('someone')")
    conn.commit()
    conn.close()
    assert_refused_untouched(path, "SQLite database of another application, not of unclosed")


def test_a_database_with_a_foreign_meta_table_is_refused_untouched(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE meta (key TEXT, value TEXT)")
    conn.execute("INSERT INTO meta VALUES ('application', 'something else')")
    conn.commit()
    conn.close()
    assert_refused_untouched(path, "another application")


def test_a_file_that_is_not_sqlite_is_refused_untouched(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("these are my notes, not a database\n" * 100)
    assert_refused_untouched(path, "not an unclosed database \\(not an SQLite file\\)")


def test_a_corrupt_database_is_refused_untouched(tmp_path):
    path = tmp_path / "audit.db"
    with Store(path) as s:
        s.begin_run(INFO, 4242)
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xa5" * (4096 - 100)  # the schema page, after the file header
    path.write_bytes(bytes(data))
    before = digest(path)
    with pytest.raises(StoreError, match="corrupt"):
        Store(path)
    assert digest(path) == before


def test_a_database_of_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "audit.db"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    assert_refused_untouched(path, "schema version 2; this unclosed reads version 1")


def test_a_database_in_a_missing_folder_is_refused(tmp_path):
    with pytest.raises(StoreError, match="is not a directory"):
        Store(tmp_path / "nowhere" / "audit.db")
    with pytest.raises(StoreError, match="is a directory"):
        Store(tmp_path)


def test_a_large_drain_goes_in_quickly(store, tmp_path):
    """A guard against slowing the bulk path by an order of magnitude, not a benchmark."""
    n = 100_000
    records = [("S", "1", "c", "java.util.zip.Inflater", "zlib", "")]
    records += [("O", str(i), "1", "1", str(T0 + i), str(INFLATER)) for i in range(n)]
    records += [("R", str(i), "1", "1", str(T0 + i + 1)) for i in range(n) if i % 10]
    records += [("L", str(i), str(T0 + i + 2)) for i in range(0, n, 10)]
    path = write_drain(tmp_path / "big.tsv", records)
    run = store.begin_run(INFO, 4242)
    started = time.perf_counter()
    assert store.ingest_drain(run, path)["events"] == 2 * n
    assert time.perf_counter() - started < 5
    assert rows(store, "SELECT state, count(*) FROM objects GROUP BY state ORDER BY state") == [
        ("leaked", n // 10), ("released", n - n // 10)]


# Direct buffers and streams: a G record (freed by the GC), C's released_by_gc, S's detail, the
# direct pool figures (N).
DIRECT_DRAIN = [
    ("T", "3", "main"), ("T", "4", "Reference Handler"),
    ("S", "1", "c", "java.nio.DirectByteBuffer", "direct", "app.Buffers.grow(Buffers.java:5)", ""),
    ("F", "1", "0", "app.Buffers.grow(Buffers.java:5)"),
    ("S", "2", "r", "", "", "app.Buffers.free(Buffers.java:9)", ""),
    ("F", "2", "0", "app.Buffers.free(Buffers.java:9)"),
    ("S", "3", "c", "akka.stream.Source.actorRef", "actor", "app.Streams.run(Streams.java:7)",
     "stages: ActorRefSource, GraphStages$IgnoreSink"),
    ("F", "3", "0", "app.Streams.run(Streams.java:7)"),
    ("O", "10", "1", "3", str(T0 + 10), "4096"),
    ("O", "11", "1", "3", str(T0 + 11), "4096"),
    ("O", "12", "1", "3", str(T0 + 12), "100"),
    ("O", "13", "3", "3", str(T0 + 13), "0"),
    ("R", "10", "2", "3", str(T0 + 20)),
    ("G", "11", "4", str(T0 + 21)),
    ("G", "9", "4", str(T0 + 22)),  # its O came in an earlier drain
    # site, opened, released, leaked, held, bytes_held, bytes_leaked, oldest_held_ms, released_by_gc
    ("C", "1", "4", "3", "0", "1", "100", "0", str(T0 + 12), "2"),
    ("C", "3", "1", "0", "0", "1", "0", "0", str(T0 + 13), "0"),
    ("N", "direct_pool_count", "5"), ("N", "direct_pool_used", "9000"), ("N", "direct_pool_capacity", "8292"),
]


def test_direct_buffers_freed_by_the_gc_and_stream_stages_are_stored(store, tmp_path):
    run = store.begin_run(INFO, 4242)
    summary = store.ingest_drain(run, write_drain(tmp_path / "d.tsv", DIRECT_DRAIN), time_ms=T0 + 100)
    assert (summary["events"], summary["opened"], summary["released"], summary["held"]) == (7, 5, 3, 2)
    assert rows(store, "SELECT object_id, state, release_site_id, release_thread_id, released_ms, released_by_gc "
                       "FROM objects ORDER BY object_id") == [
        (9, "released", None, 4, T0 + 22, 1),
        (10, "released", 2, 3, T0 + 20, None),
        (11, "released", None, 4, T0 + 21, 1),
        (12, "held", None, None, None, None),
        (13, "held", None, None, None, None),
    ]
    assert rows(store, "SELECT site_id, released, released_by_gc FROM site_counts ORDER BY site_id") == [
        (1, 3, 2), (3, 0, 0)]
    assert rows(store, "SELECT agent_site_id, detail FROM sites ORDER BY 1") == [
        (1, None), (2, None), (3, "stages: ActorRefSource, GraphStages$IgnoreSink")]
    assert rows(store, "SELECT name, value FROM agent_counters WHERE name LIKE 'direct_pool_%' ORDER BY name") == [
        ("direct_pool_capacity", 8292), ("direct_pool_count", 5), ("direct_pool_used", 9000)]


def test_a_database_made_before_the_new_columns_gets_them(tmp_path):
    path = tmp_path / "audit.db"
    Store(path).close()
    conn = sqlite3.connect(path)
    for table, column in (("sites", "detail"), ("objects", "released_by_gc"), ("site_counts", "released_by_gc")):
        conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    conn.commit()
    conn.close()
    with Store(path) as s:
        run = s.begin_run(INFO, 4242)
        s.ingest_drain(run, write_drain(tmp_path / "d.tsv", DIRECT_DRAIN))
        assert rows(s, "SELECT count(*) FROM objects WHERE released_by_gc = 1") == [(2,)]
