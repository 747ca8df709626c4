"""Direct buffers end to end on every LTS JDK: held direct memory by site and its growth drain by
drain, explicit cleans told apart from the GC's, and the JVM's own pool figures beside ours."""
from __future__ import annotations

import pytest

from helpers.jvm import compile_program, jdk_id
from helpers.recording import MODES, cli, culprit, drain_into, record, report, start
from unclosed import AgentChannel, Store

PROGRAM = "DirectWorkload"
SIZE = 64 * 1024


@pytest.fixture(scope="module")
def classes(lts_jdk, tmp_path_factory):
    return lts_jdk, compile_program(lts_jdk, PROGRAM, tmp_path_factory.mktemp(jdk_id(lts_jdk)))


def counts(site) -> tuple:
    return (site["kind"], site["family"], site["opened"], site["released"], site["released_by_gc"], site["leaked"],
            site["held"], site["bytes_held"], site["culprit"])


@pytest.mark.parametrize("mode", MODES)
def test_held_direct_memory_grows_drain_by_drain(classes, mode, tmp_path):
    jdk, compiled = classes
    agent_dir, db = tmp_path / "agent", tmp_path / "audit.db"
    jvm = start(jdk, compiled, PROGRAM, mode, agent_dir)
    try:
        channel = AgentChannel.connect(agent_dir, jvm.pid)
        with Store(db) as store:
            run = store.begin_run(channel.status(), jvm.pid)
            for _ in range(3):
                jvm.send("grow")
                drain_into(channel, store, run, agent_dir)
            store.end_run(run, "complete")
            series = store.conn.execute(
                "SELECT c.drain, c.held, c.bytes_held FROM site_counts c JOIN sites s "
                "ON s.run_id = c.run_id AND s.agent_site_id = c.site_id WHERE s.culprit = ? ORDER BY c.drain",
                [culprit(PROGRAM, "grow")]).fetchall()
        channel.close()
        assert series == [(1, 4, 4 * SIZE), (2, 8, 8 * SIZE), (3, 12, 12 * SIZE)]

        found = report(db, "--family", "direct")
        assert [counts(s) for s in found["sites"]] == [
            ("java.nio.DirectByteBuffer", "direct", 12, 0, 0, 0, 12, 12 * SIZE, culprit(PROGRAM, "grow"))]
        pool = found["runs"][0]["direct_pool"]
        assert (pool["held_by_sites"], pool["bytes_held_by_sites"]) == (12, 12 * SIZE)
        # The pool also has what the JDK allocated for itself before an attach.
        assert pool["count"] >= 12 and pool["total_capacity"] >= 12 * SIZE and pool["memory_used"] >= 12 * SIZE
        header = [line for line in cli("report", db).splitlines() if line.startswith("direct buffers:")]
        assert len(header) == 1
        assert header[0].startswith(f"direct buffers: the JVM's pool holds {pool['count']} (")
        assert "; the direct sites hold 12 (768 KiB)" in header[0]
    finally:
        assert jvm.finish() == 0


@pytest.mark.parametrize("mode", MODES)
def test_the_ends_of_buffers_a_drain_listed_say_who_freed_them(classes, mode, tmp_path):
    """Buffers held across a drain are listed; then an explicit clean has its stack and thread,
    a buffer freed by the JVM after the GC has the Reference Handler's."""
    jdk, compiled = classes
    agent_dir, db = tmp_path / "agent", tmp_path / "audit.db"
    jvm = start(jdk, compiled, PROGRAM, mode, agent_dir)
    try:
        channel = AgentChannel.connect(agent_dir, jvm.pid)
        with Store(db) as store:
            run = store.begin_run(channel.status(), jvm.pid)
            jvm.send("keep")
            assert drain_into(channel, store, run, agent_dir)["held"] == 2
            jvm.send("end")
            drain_into(channel, store, run, agent_dir)
            ends = store.conn.execute(
                "SELECT c.culprit, o.released_by_gc, r.culprit, t.name FROM objects o "
                "JOIN sites c ON c.run_id = o.run_id AND c.agent_site_id = o.site_id "
                "LEFT JOIN sites r ON r.run_id = o.run_id AND r.agent_site_id = o.release_site_id "
                "JOIN threads t ON t.run_id = o.run_id AND t.thread_id = o.release_thread_id "
                "WHERE o.state = 'released'").fetchall()
        channel.close()
        assert sorted(ends, key=str) == sorted([(culprit(PROGRAM, "kept"), None, culprit(PROGRAM, "clean_kept"), "main"),
                                                (culprit(PROGRAM, "kept"), 1, None, "Reference Handler")], key=str)
    finally:
        assert jvm.finish() == 0


@pytest.mark.parametrize("mode", MODES)
def test_explicit_cleans_and_the_gcs_are_releases_told_apart(classes, mode, tmp_path):
    jdk, compiled = classes
    db = tmp_path / "audit.db"
    jvm = start(jdk, compiled, PROGRAM, mode, tmp_path / "agent")
    try:
        for command in ("explicit", "dropped", "views"):
            jvm.send(command)
        record(jvm, db)

        # Slices, duplicates and the agent's own buffers (py4j's socket reads) are not allocations of the program's.
        # (Other families may have the JDK's own sites: on 11, Inflaters reading its compressed modules.)
        everything = report(db, "--all", "--family", "direct")
        assert sorted(counts(s) for s in everything["sites"]) == sorted([
            ("java.nio.DirectByteBuffer", "direct", 3, 3, 0, 0, 0, 0, culprit(PROGRAM, "explicit")),
            ("java.nio.DirectByteBuffer", "direct", 2, 2, 2, 0, 0, 0, culprit(PROGRAM, "dropped")),
            ("java.nio.DirectByteBuffer", "direct", 1, 0, 0, 0, 1, 4096, culprit(PROGRAM, "viewed")),
        ])
        assert [s["culprit"] for s in report(db)["sites"]] == [culprit(PROGRAM, "viewed")]
        assert report(db, "--family", "zlib")["sites"] == []
        assert len(report(db, "--kind", "DirectByteBuffer", "--all")["sites"]) == 3

        with Store(db) as store:  # short-lived buffers are counted, never listed one by one
            assert store.conn.execute("SELECT count(*) FROM objects WHERE state = 'released'").fetchone() == (0,)
        text = cli("report", db, "--all", "--family", "direct")
        assert "held 0 (0 B) of 2 opened, released 2 (2 by the GC)" in text
        assert "held 0 (0 B) of 3 opened, released 3 (0 by the GC)" in text
    finally:
        assert jvm.finish() == 0
