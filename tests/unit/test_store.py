"""The SQLite store, fed drain files written by hand after docs/protocol.md (format 2)."""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time

import pytest

from helpers.drains import SESSION, write_drain
from unclosed import Store
from unclosed.errors import StoreError

T0 = 1_700_000_000_000
DEFLATER, INFLATER = 268288, 39936

# C fields after the site: opened, released, leaked, held, bytes_held, bytes_leaked, oldest_held_ms,
# released_by_gc, in_flight, bytes_in_flight.
FIRST_DRAIN = [
    ("J", "pid", "4242"), ("J", "java_version", "17.0.15"), ("J", "java_vendor", "Debian"),
    ("J", "java_home", "/usr/lib/jvm/java-17"), ("J", "main_class", "com.example.Main"),
    ("J", "mode", "attach"), ("J", "tracking_since_ms", T0), ("J", "agent_version", "0.1.0"),
    ("J", "sample", "1"),
    ("T", 1, "main"), ("T", 7, "worker-1"),
    ("U", 1, "com.example.LoggerTest.logs"),
    ("S", 1, "c", "java.util.zip.GZIPOutputStream", "zlib", "com.example.Logger.log(Logger.java:12)", ""),
    ("F", 1, 0, "java.util.zip.Deflater.<init>(Deflater.java:202)"),
    ("F", 1, 1, "java.util.zip.GZIPOutputStream.<init>(GZIPOutputStream.java:93)"),
    ("F", 1, 2, "com.example.Logger.log(Logger.java:12)"),
    ("S", 2, "c", "java.util.zip.Inflater", "zlib", "com.example.Reader.read(Reader.java:30)", ""),
    ("F", 2, 0, "com.example.Reader.read(Reader.java:30)"),
    ("S", 3, "r", "", "", "com.example.Reader.read(Reader.java:33)", ""),
    ("F", 3, 0, "java.util.zip.Inflater.end(Inflater.java:1)"),
    ("F", 3, 1, "com.example.Reader.read(Reader.java:33)"),
    # Listed: held at this drain, or leaked before any drain listed it (its L follows). Site 2's
    # second object was created and released since tracking began: only counted.
    ("O", 100, 1, 1, T0 + 1000, DEFLATER, 1),
    ("O", 101, 1, 7, T0 + 1100, DEFLATER, 0),
    ("O", 103, 2, 1, T0 + 1300, INFLATER, 1),
    ("L", 100, T0 + 1500),
    ("C", 1, 2, 0, 1, 1, DEFLATER, DEFLATER, T0 + 1100, 0, 0, 0),
    ("C", 2, 2, 1, 0, 1, INFLATER, 0, T0 + 1300, 0, 1, INFLATER),  # 103 is in flight
    ("N", "dropped_events", 0), ("N", "held", 2),
    ("E", T0 + 1600, "could not read a stack"),
]

SECOND_DRAIN = [
    ("O", 104, 1, 1, T0 + 2000, DEFLATER, 0),
    ("R", 101, 3, 1, T0 + 2100),  # listed by the first drain
    ("L", 999, T0 + 2200),  # listed by no drain this database has: all that is known of it
    ("R", 555, 3, 1, T0 + 2300),  # its listing comes in the next drain
    ("Q", "a record", "of a later format"),
    ("C", 1, 3, 1, 1, 1, DEFLATER, DEFLATER, T0 + 2000, 0, 0, 0),
    ("C", 2, 2, 1, 0, 1, INFLATER, 0, T0 + 1300, 0, 1, INFLATER),  # unchanged
    ("N", "dropped_events", 3),
]

THIRD_DRAIN = [("O", 555, 2, 7, T0 + 2250, INFLATER, 0)]

INFO = {"pid": 4242, "mode": "attach", "tracking_since_ms": T0, "java_version": "17.0.15",
        "java_vendor": "Debian", "main_class": "com.example.Main"}


def rows(store, sql, *params):
    return store.conn.execute(sql, params).fetchall()


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def refusal(call, *args, **kwargs) -> str:
    """The StoreError `call` raises, one line."""
    with pytest.raises(StoreError) as refused:
        call(*args, **kwargs)
    assert "\n" not in str(refused.value)
    return str(refused.value)


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "audit.db") as s:
        yield s


def test_a_new_database_is_marked_as_ours(tmp_path):
    Store(tmp_path / "new.db").close()
    conn = sqlite3.connect(tmp_path / "new.db")
    assert dict(conn.execute("SELECT key, value FROM meta")) == {"application": "unclosed", "schema_version": "2"}
    Store(tmp_path / "new.db").close()  # and opens again


def test_a_new_database_is_its_users_alone_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        with Store(tmp_path / "new.db") as store:
            store.begin_run({"mode": "attach"}, 1)  # a write: SQLite's journal comes and goes
    finally:
        os.umask(old)
    assert {p.name: oct(p.stat().st_mode & 0o777) for p in tmp_path.iterdir()} == {"new.db": "0o600"}


def test_first_drain_is_stored_exactly(store, tmp_path):
    run = store.begin_run(INFO, 4242, "first")
    summary = store.ingest_drain(run, write_drain(tmp_path / "d1.tsv", FIRST_DRAIN), time_ms=T0 + 5000)

    assert summary == {"stored": True, "seq": 1, "events": 4, "new_sites": 3, "opened": 4, "released": 1,
                       "leaked": 1, "held": 1, "in_flight": 1, "sites": 2, "errors": 1, "exited": False}
    r = store.run(run)
    assert (r["pid"], r["label"], r["status"], r["drains"], r["last_drain_ms"]) == (4242, "first", "recording", 1, T0 + 5000)
    assert (r["java_home"], r["agent_version"], r["tracking_since_ms"]) == ("/usr/lib/jvm/java-17", "0.1.0", T0)
    assert (r["jvm_pid"], r["session"], r["exit_ms"]) == (4242, SESSION, None)
    assert rows(store, "SELECT object_id, site_id, thread_id, created_ms, bytes, test_id, state, released_ms, "
                       "release_site_id, release_thread_id, reclaimed_ms FROM objects ORDER BY object_id") == [
        (100, 1, 1, T0 + 1000, DEFLATER, 1, "leaked", None, None, None, T0 + 1500),
        (101, 1, 7, T0 + 1100, DEFLATER, 0, "held", None, None, None, None),
        (103, 2, 1, T0 + 1300, INFLATER, 1, "held", None, None, None, None),
    ]
    sites = rows(store, "SELECT agent_site_id, role, kind, family, culprit, frames, top_frame FROM sites ORDER BY 1")
    assert sites[0][:5] == (1, "c", "java.util.zip.GZIPOutputStream", "zlib", "com.example.Logger.log(Logger.java:12)")
    assert json.loads(sites[0][5]) == ["java.util.zip.Deflater.<init>(Deflater.java:202)",
                                       "java.util.zip.GZIPOutputStream.<init>(GZIPOutputStream.java:93)",
                                       "com.example.Logger.log(Logger.java:12)"]
    assert sites[0][6] == "java.util.zip.Deflater.<init>(Deflater.java:202)"
    assert sites[2][:4] == (3, "r", None, None)
    assert rows(store, "SELECT thread_id, name FROM threads ORDER BY 1") == [(1, "main"), (7, "worker-1")]
    assert rows(store, "SELECT test_id, name FROM tests") == [(1, "com.example.LoggerTest.logs")]
    assert store.site_tests(run) == {1: [("com.example.LoggerTest.logs", 1)], 2: [("com.example.LoggerTest.logs", 1)]}
    assert rows(store, "SELECT site_id, drain, time_ms, opened, released, leaked, held, bytes_held, bytes_leaked, "
                       "oldest_held_ms, released_by_gc, in_flight, bytes_in_flight FROM site_counts ORDER BY site_id") == [
        (1, 1, T0 + 5000, 2, 0, 1, 1, DEFLATER, DEFLATER, T0 + 1100, 0, 0, 0),
        (2, 1, T0 + 5000, 2, 1, 0, 1, INFLATER, 0, T0 + 1300, 0, 1, INFLATER),
    ]
    assert store.counters(run) == {"dropped_events": 0, "held": 2}
    assert rows(store, "SELECT time_ms, message FROM errors") == [(T0 + 1600, "could not read a stack")]


def test_later_drains_complete_what_earlier_ones_began(store, tmp_path):
    run = store.begin_run(INFO, 4242)
    store.ingest_drain(run, write_drain(tmp_path / "d1.tsv", FIRST_DRAIN), time_ms=T0 + 5000)
    summary = store.ingest_drain(run, write_drain(tmp_path / "d2.tsv", SECOND_DRAIN, seq=2), time_ms=T0 + 10000)
    store.ingest_drain(run, write_drain(tmp_path / "d3.tsv", THIRD_DRAIN, seq=3), time_ms=T0 + 15000)

    assert summary == {"stored": True, "seq": 2, "events": 4, "new_sites": 0, "opened": 5, "released": 2,
                       "leaked": 1, "held": 1, "in_flight": 1, "sites": 2, "errors": 0, "exited": False}
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
    assert store.counters(run) == {"dropped_events": 3, "held": 2}  # each as the last drain that sent it said


def test_objects_begun_and_ended_between_two_drains_are_only_counted(store, tmp_path):
    run = store.begin_run(INFO, 4242)
    summary = store.ingest_drain(run, write_drain(tmp_path / "d.tsv", [
        ("S", 1, "c", "java.util.zip.Deflater", "zlib", "app.Main.main(Main.java:5)", ""),
        ("F", 1, 0, "app.Main.main(Main.java:5)"),
        ("C", 1, 7, 7, 0, 0, 0, 0, 0, 0, 0, 0)]), time_ms=T0 + 100)
    assert (summary["events"], summary["opened"], summary["released"]) == (0, 7, 7)
    assert rows(store, "SELECT count(*) FROM objects") == [(0,)]
    assert store.site_findings(run) == []
    assert [(f["site_id"], f["opened"], f["released"], f["leaked"], f["held"])
            for f in store.site_findings(run, include_clean=True)] == [(1, 7, 7, 0, 0)]


def test_a_drain_found_again_is_stored_once(store, tmp_path):
    run = store.begin_run(INFO, 4242)
    drain = write_drain(tmp_path / "d1.tsv", FIRST_DRAIN)
    assert store.ingest_drain(run, drain, time_ms=T0 + 5000)["stored"] is True
    again = store.ingest_drain(run, drain, time_ms=T0 + 6000)
    assert (again["stored"], again["seq"]) == (False, 1)
    assert (store.run(run)["drains"], store.run(run)["last_drain_ms"]) == (1, T0 + 5000)
    assert rows(store, "SELECT count(*) FROM objects") == [(3,)]
    assert rows(store, "SELECT count(*) FROM site_counts") == [(2,)]
    assert rows(store, "SELECT count(*) FROM errors") == [(1,)]
    assert rows(store, "SELECT run_id, session, seq, time_ms FROM drains") == [(run, SESSION, 1, T0 + 5000)]


def test_a_drain_of_another_agent_session_is_refused(store, tmp_path):
    run = store.begin_run(dict(INFO, session=SESSION), 4242)
    other = write_drain(tmp_path / "d.tsv", FIRST_DRAIN, session="0dd")
    assert refusal(store.ingest_drain, run, other) == (
        f"the drain file is of agent session 0dd, run {run} of {SESSION}: not this run's "
        "(an earlier JVM's with the same pid?)")
    assert store.run(run)["drains"] == 0


def test_the_exit_data_marks_the_jvm_exited(store, tmp_path):
    run = store.begin_run(INFO, 4242)
    summary = store.ingest_drain(run, write_drain(tmp_path / "exit.tsv", [("Z", T0 + 9000)]))
    assert summary["exited"] is True
    assert store.run(run)["exit_ms"] == T0 + 9000


def test_held_is_what_outlived_the_interval_and_in_flight_the_rest(store, tmp_path):
    run = store.begin_run(INFO, 4242)
    store.ingest_drain(run, write_drain(tmp_path / "d.tsv", [
        ("S", 1, "c", "java.util.zip.Deflater", "zlib", "app.A.a(A.java:1)", ""),
        ("F", 1, 0, "app.A.a(A.java:1)"),
        ("S", 2, "p", "java.util.zip.Inflater", "zlib", "", ""),  # alive when tracking began: no stack
        ("S", 3, "c", "java.util.zip.Deflater", "zlib", "app.B.b(B.java:2)", ""),
        ("F", 3, 0, "app.B.b(B.java:2)"),
        ("C", 1, 5, 1, 0, 4, 4 * DEFLATER, 0, T0 + 100, 0, 3, 3 * DEFLATER),
        ("C", 2, 2, 0, 0, 2, 2 * INFLATER, 0, T0, 0, 0, 0),
        ("C", 3, 2, 0, 0, 2, 2 * DEFLATER, 0, T0 + 900, 0, 2, 2 * DEFLATER),  # all in flight
        ("C", 9, 1, 0, 1, 0, 0, DEFLATER, 0, 0, 0, 0),  # a site whose S never reached this run
    ]), time_ms=T0 + 1000)
    common = {"run": run, "family": "zlib", "released_by_gc": 0, "detail": None}
    assert store.site_findings(run) == [
        dict(common, site_id=9, role="c", kind=None, family=None, unknown=True, opened=1, released=0, leaked=1,
             held=0, in_flight=0, bytes_leaked=DEFLATER, bytes_held=0, bytes_in_flight=0, oldest_held_age_s=None,
             culprit=None, frames=[]),
        dict(common, site_id=2, role="p", kind="java.util.zip.Inflater", unknown=False, opened=2, released=0,
             leaked=0, held=2, in_flight=0, bytes_leaked=0, bytes_held=2 * INFLATER, bytes_in_flight=0,
             oldest_held_age_s=1.0, culprit=None, frames=[]),
        dict(common, site_id=1, role="c", kind="java.util.zip.Deflater", unknown=False, opened=5, released=1,
             leaked=0, held=1, in_flight=3, bytes_leaked=0, bytes_held=DEFLATER, bytes_in_flight=3 * DEFLATER,
             oldest_held_age_s=0.9, culprit="app.A.a(A.java:1)", frames=["app.A.a(A.java:1)"]),
    ]
    assert [(f["site_id"], f["held"], f["in_flight"]) for f in store.site_findings(run, include_clean=True)][-1] == (
        3, 0, 2)


def test_a_file_that_is_not_a_drain_is_refused_and_nothing_stored(store, tmp_path):
    run = store.begin_run(INFO, 4242)
    older = write_drain(tmp_path / "d1.tsv", FIRST_DRAIN)
    older.write_text(older.read_text().replace("V\t2", "V\t1", 1))
    assert refusal(store.ingest_drain, run, older) == (
        f"{older}: line 1: written by an older agent (drain format 1): record it again with this unclosed")
    newer = write_drain(tmp_path / "d3.tsv", FIRST_DRAIN)
    newer.write_text(newer.read_text().replace("V\t2", "V\t3", 1))
    assert refusal(store.ingest_drain, run, newer) == f"{newer}: line 1: not a drain file of format 2 (it begins 'V\\t3')"
    empty = tmp_path / "empty.tsv"
    empty.touch()
    assert refusal(store.ingest_drain, run, empty) == f"{empty}: line 1: not a drain file of format 2 (it begins '')"
    assert refusal(store.ingest_drain, run, tmp_path / "missing.tsv") == (
        f"cannot read drain file {tmp_path / 'missing.tsv'}: No such file or directory")
    assert store.run(run)["drains"] == 0


@pytest.mark.parametrize("bad, problem", [
    (("O", 1, 2), "O record with 2 field(s), not 6: 'O\\t1\\t2'"),
    (("C", 1, "x"), "C record with 2 field(s), not 11: 'C\\t1\\tx'"),
    (("F", 9, 0, "no such site"), "F record of site 9, which no S record before it defines"),
])
def test_a_malformed_drain_stores_nothing(store, tmp_path, bad, problem):
    run = store.begin_run(INFO, 4242)
    path = write_drain(tmp_path / "d.tsv", FIRST_DRAIN + [bad])
    line = 3 + len(FIRST_DRAIN) + 1  # after V and the two J lines the helper adds
    assert refusal(store.ingest_drain, run, path) == f"{path}: line {line}: {problem}"
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
        assert rows(s, "SELECT run_id, count(*) FROM objects GROUP BY run_id") == [(first, 3), (second, 3)]
        assert s.run()["id"] == second  # the latest
        assert s.run(first)["ended_ms"] >= s.run(first)["started_ms"]


def test_a_run_knows_what_its_agent_sent_it(tmp_path):
    """What the reader tells the agent at each drain: the agent sends the sites and tests past
    the first `sites` and `tests` ids again, and the threads past `threads`."""
    with Store(tmp_path / "audit.db") as s:
        first = s.begin_run(INFO, 4242)
        assert s.known(first) == {"sites": 0, "tests": 0, "threads": 0}
        s.ingest_drain(first, write_drain(tmp_path / "d1.tsv", FIRST_DRAIN))
        assert s.known(first) == {"sites": 3, "tests": 1, "threads": 2}
        s.end_run(first, "complete")
        second = s.begin_run(INFO, 4242)  # the same agent: a new run knows nothing of it yet
        assert s.known(second) == {"sites": 0, "tests": 0, "threads": 0}
        s.ingest_drain(second, write_drain(tmp_path / "d2.tsv", [
            ("S", 1, "r", "", "", "", ""), ("S", 2, "r", "", "", "", ""), ("S", 4, "r", "", "", "", "")]))
        assert s.known(second) == {"sites": 2, "tests": 0, "threads": 0}  # site 3 is missing


def test_runs_end_complete_or_incomplete(store):
    run = store.begin_run(INFO, 4242)
    with pytest.raises(ValueError):
        store.end_run(run, "recording")
    assert refusal(store.run, 99) == f"{store.path} has no run 99"


def test_ingesting_into_a_missing_run_fails_clearly(store, tmp_path):
    assert refusal(store.ingest_drain, 7, write_drain(tmp_path / "d.tsv", FIRST_DRAIN)) == f"{store.path} has no run 7"


def assert_refused_untouched(path, message):
    """Neither a writer nor a reader takes the file, and neither changes it or adds a file beside it."""
    before, listing = digest(path), sorted(p.name for p in path.parent.iterdir())
    for readonly in (False, True):
        assert refusal(Store, path, readonly=readonly) == message
    assert digest(path) == before
    assert sorted(p.name for p in path.parent.iterdir()) == listing


def test_an_empty_file_is_refused_not_made_a_database(tmp_path):
    path = tmp_path / "empty.db"
    path.touch()
    assert_refused_untouched(path, f"{path} is empty, not an unclosed database (give a new name, or remove it)")
    assert path.stat().st_size == 0


def test_a_database_of_another_application_is_refused_untouched(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT)")
    conn.execute("INSERT INTO accounts (owner) VALUES ('someone')")
    conn.commit()
    conn.close()
    assert_refused_untouched(path, f"{path} is an SQLite database of another application, not of unclosed")


def test_a_database_with_a_foreign_meta_table_is_refused_untouched(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE meta (key TEXT, value TEXT)")
    conn.execute("INSERT INTO meta VALUES ('application', 'something else')")
    conn.commit()
    conn.close()
    assert_refused_untouched(path, f"{path} is an SQLite database of another application, not of unclosed")


def test_a_file_that_is_not_sqlite_is_refused_untouched(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("these are my notes, not a database\n" * 100)
    assert_refused_untouched(path, f"{path} is not an unclosed database (not an SQLite file)")


def test_a_database_whose_schema_page_is_garbage_is_refused_untouched(tmp_path):
    path = tmp_path / "audit.db"
    with Store(path) as s:
        s.begin_run(INFO, 4242)
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xa5" * (4096 - 100)  # the schema page, after the file header
    path.write_bytes(bytes(data))
    assert_refused_untouched(path, f"{path}: the database is corrupt (database disk image is malformed)")


@pytest.mark.parametrize("version", ["1", "3"])
def test_a_database_of_another_schema_is_refused_untouched(tmp_path, version):
    path = tmp_path / "audit.db"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [version])
    conn.commit()
    conn.close()
    assert_refused_untouched(path, f"{path} was made by another version of unclosed (schema {version}; "
                                   "this one reads schema 2): record into a new database")


def test_a_database_in_a_missing_folder_or_a_folder_is_refused(tmp_path):
    assert refusal(Store, tmp_path / "nowhere" / "audit.db") == (
        f"cannot create {tmp_path / 'nowhere' / 'audit.db'}: {tmp_path / 'nowhere'} is not a directory")
    assert refusal(Store, tmp_path) == f"{tmp_path} is a directory, not a database file"


def test_a_reader_makes_no_database(tmp_path):
    assert refusal(Store, tmp_path / "missing.db", readonly=True) == f"no database {tmp_path / 'missing.db'}"
    assert refusal(Store, tmp_path / "nowhere" / "audit.db", readonly=True) == (
        f"no database {tmp_path / 'nowhere' / 'audit.db'}")
    assert list(tmp_path.iterdir()) == []


def test_a_large_drain_goes_in_quickly(store, tmp_path):
    """A guard against slowing the bulk path by an order of magnitude, not a benchmark."""
    n = 100_000
    listed = [("S", 1, "c", "java.util.zip.Inflater", "zlib", "", "")]
    listed += [("O", i, 1, 1, T0 + i, INFLATER, 0) for i in range(n)]
    ended = [("R", i, 1, 1, T0 + i + 1) for i in range(n) if i % 10]
    ended += [("L", i, T0 + i + 2) for i in range(0, n, 10)]
    first, second = write_drain(tmp_path / "d1.tsv", listed), write_drain(tmp_path / "d2.tsv", ended, seq=2)
    run = store.begin_run(INFO, 4242)
    started = time.perf_counter()
    assert store.ingest_drain(run, first)["events"] + store.ingest_drain(run, second)["events"] == 2 * n
    assert time.perf_counter() - started < 5
    assert rows(store, "SELECT state, count(*) FROM objects GROUP BY state ORDER BY state") == [
        ("leaked", n // 10), ("released", n - n // 10)]


# Direct buffers and streams: G records (freed by the GC), C's released_by_gc, S's detail, the
# direct pool figures (N).
DIRECT_LISTED = [
    ("T", 3, "main"), ("T", 4, "Reference Handler"),
    ("S", 1, "c", "java.nio.DirectByteBuffer", "direct", "app.Buffers.grow(Buffers.java:5)", ""),
    ("F", 1, 0, "app.Buffers.grow(Buffers.java:5)"),
    ("S", 2, "r", "", "", "app.Buffers.free(Buffers.java:9)", ""),
    ("F", 2, 0, "app.Buffers.free(Buffers.java:9)"),
    ("S", 3, "c", "akka.stream.Source.actorRef", "actor", "app.Streams.run(Streams.java:7)",
     "stages: ActorRefSource, GraphStages$IgnoreSink"),
    ("F", 3, 0, "app.Streams.run(Streams.java:7)"),
    ("O", 9, 1, 3, T0 + 9, 4096, 0),
    ("O", 10, 1, 3, T0 + 10, 4096, 0),
    ("O", 11, 1, 3, T0 + 11, 4096, 0),
    ("O", 12, 1, 3, T0 + 12, 100, 0),
    ("O", 13, 3, 3, T0 + 13, 0, 0),
    ("C", 1, 4, 0, 0, 4, 3 * 4096 + 100, 0, T0 + 9, 0, 0, 0),
    ("C", 3, 1, 0, 0, 1, 0, 0, T0 + 13, 0, 0, 0),
]
DIRECT_ENDED = [
    ("R", 10, 2, 3, T0 + 20),
    ("G", 11, 4, T0 + 21),
    ("G", 9, 4, T0 + 22),
    # One more buffer was allocated and freed by the GC between the drains: only counted.
    ("C", 1, 5, 4, 0, 1, 100, 0, T0 + 12, 3, 0, 0),
    ("C", 3, 1, 0, 0, 1, 0, 0, T0 + 13, 0, 0, 0),
    ("N", "direct_pool_count", 5), ("N", "direct_pool_used", 9000), ("N", "direct_pool_capacity", 8292),
]


def test_direct_buffers_freed_by_the_gc_and_stream_stages_are_stored(store, tmp_path):
    run = store.begin_run(INFO, 4242)
    store.ingest_drain(run, write_drain(tmp_path / "d1.tsv", DIRECT_LISTED), time_ms=T0 + 50)
    summary = store.ingest_drain(run, write_drain(tmp_path / "d2.tsv", DIRECT_ENDED, seq=2), time_ms=T0 + 100)
    assert (summary["events"], summary["opened"], summary["released"], summary["held"]) == (3, 6, 4, 2)
    assert rows(store, "SELECT object_id, state, release_site_id, release_thread_id, released_ms, released_by_gc "
                       "FROM objects ORDER BY object_id") == [
        (9, "released", None, 4, T0 + 22, 1),
        (10, "released", 2, 3, T0 + 20, None),
        (11, "released", None, 4, T0 + 21, 1),
        (12, "held", None, None, None, None),
        (13, "held", None, None, None, None),
    ]
    assert rows(store, "SELECT site_id, released, released_by_gc FROM site_counts ORDER BY site_id, drain") == [
        (1, 0, 0), (1, 4, 3), (3, 0, 0)]
    assert rows(store, "SELECT agent_site_id, detail FROM sites ORDER BY 1") == [
        (1, None), (2, None), (3, "stages: ActorRefSource, GraphStages$IgnoreSink")]
    assert store.direct_pool(run) == {"count": 5, "memory_used": 9000, "total_capacity": 8292,
                                      "held_by_sites": 1, "bytes_held_by_sites": 100}
