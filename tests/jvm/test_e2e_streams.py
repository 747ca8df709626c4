"""Akka and Apache Pekko streams end to end on every LTS JDK: streams still running are reported by
the line that materialized them, with their stages and age; completed streams are not."""
from __future__ import annotations

import pytest

from helpers.jvm import compile_program, jdk_id
from helpers.maven import maven_jars
from helpers.recording import MODES, cli, culprit, record, report, start

PROGRAM = "StreamWorkload"
# name: (Maven coordinates, how StreamWorkload.java (written for Akka) reads for it, its package)
LIBRARIES = {
    "akka": (["com.typesafe.akka:akka-stream_2.13:2.6.21"], None, "akka."),
    "pekko": (["org.apache.pekko:pekko-stream_2.13:1.2.1"],
              lambda source: source.replace("import akka.", "import org.apache.pekko."), "org.apache.pekko."),
}


@pytest.fixture(scope="session", params=sorted(LIBRARIES))
def library(request, tmp_path_factory):
    """(name, jars, rewrite, package) of Akka or Pekko, fetched once per session."""
    coordinates, rewrite, package = LIBRARIES[request.param]
    jars = maven_jars(request.param, coordinates, tmp_path_factory.mktemp(request.param))
    return request.param, jars, rewrite, package


@pytest.fixture(scope="session")
def compiled(tmp_path_factory):
    """StreamWorkload compiled once per JDK and library."""
    done = {}

    def compile_for(jdk, library):
        name, jars, rewrite, _ = library
        if (jdk, name) not in done:
            out = tmp_path_factory.mktemp(f"{jdk_id(jdk)}-{name}")
            done[jdk, name] = compile_program(jdk, PROGRAM, out, classpath=jars, rewrite=rewrite)
        return done[jdk, name]
    return compile_for


def counts(site) -> tuple:
    return (site["kind"], site["family"], site["opened"], site["released"], site["leaked"], site["held"],
            site["bytes_held"], site["culprit"])


@pytest.mark.parametrize("mode", MODES)
def test_running_streams_are_reported_by_the_line_that_ran_them(lts_jdk, library, compiled, mode, tmp_path):
    name, jars, _, package = library
    db = tmp_path / "audit.db"
    jvm = start(lts_jdk, compiled(lts_jdk, library), PROGRAM, mode, tmp_path / "agent", classpath=jars)
    try:
        for command in ("running", "completed", "running", "queue", "completed", "completed"):
            jvm.send(command)
        record(jvm, db)

        found = report(db)
        assert sorted(counts(s) for s in found["sites"]) == sorted([
            (f"{package}stream.Source.actorRef", "actor", 2, 0, 0, 2, 0, culprit(PROGRAM, "running")),
            (f"{package}stream.Source.queue", "actor", 1, 0, 0, 1, 0, culprit(PROGRAM, "queue")),
        ])
        by_kind = {s["kind"].rsplit(".", 1)[-1]: s for s in found["sites"]}
        assert by_kind["actorRef"]["detail"] == "stages: ActorRefSource, Map, GraphStages$IgnoreSink"
        assert by_kind["queue"]["detail"] == "stages: QueueSource, GraphStages$IgnoreSink"
        assert all(s["oldest_held_age_s"] > 0 for s in found["sites"])
        assert by_kind["actorRef"]["frames"][0].startswith(f"{package}stream.impl.fusing.GraphInterpreterShell.logics_$eq(")

        # A completed stream is released, and listed only with --all.
        done = [s for s in report(db, "--all")["sites"] if s["culprit"] == culprit(PROGRAM, "completed")]
        assert [counts(s) for s in done] == [
            (f"{package}stream.Source.actorRef", "actor", 3, 3, 0, 0, 0, culprit(PROGRAM, "completed"))]

        assert len(report(db, "--family", "actor")["sites"]) == 2
        assert [s["culprit"] for s in report(db, "--kind", "Source.actorRef")["sites"]] == [culprit(PROGRAM, "running")]
        assert report(db, "--family", "direct", "--family", "zlib")["sites"] == []
        text = cli("report", db)
        assert f"{package}stream.Source.actorRef (actor): leaked 0 held 2 (oldest " in text
        assert f"  culprit: {culprit(PROGRAM, 'running')}\n  stages: ActorRefSource, Map, GraphStages$IgnoreSink\n" in text
    finally:
        assert jvm.finish(timeout=60) == 0
