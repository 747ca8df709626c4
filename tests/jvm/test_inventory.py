"""The inventory at attach (issue 17) on JDK 11, 17, 21 and 25: what a JVM held before the agent
came (zlib objects, direct buffers, Akka or Pekko streams) is counted exactly, reported apart as
what existed before tracking (`preexisting` in JSON, a line per kind in text), and watched from
then on.

The agent is loaded with its own launcher (`java -jar unclosed-agent.jar PID data=DIR`), which
writes drain files into DIR every 2 s; `unclosed import` takes them in (again and again: each
import adds what is new to the same run) and `unclosed report` reads them."""
from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from helpers.jvm import PROGRAMS, RunningJvm, env_without_java_options, machine_jdks
from helpers.maven import maven_jars
from helpers.recording import cli
from unclosed import agent_jar

PROGRAM = "PreexistingWorkload"
# PreexistingWorkload.java is written for Akka; for Pekko its imports are rewritten.
LIBRARIES = {
    "akka": ("com.typesafe.akka:akka-stream_2.13:2.6.21", "akka."),
    "pekko": ("org.apache.pekko:pekko-stream_2.13:1.2.1", "org.apache.pekko."),
}
DEFLATER_BYTES = 268_288  # Kinds.DEFLATER_BYTES: the agent's estimate
INFLATER_BYTES = 39_936  # Kinds.INFLATER_BYTES
STAGES = "stages: ActorRefSource, Map, GraphStages$IgnoreSink"


@pytest.fixture(scope="module", params=sorted(LIBRARIES))
def program(request, tmp_path_factory):
    """(library package, classes, jars): PreexistingWorkload compiled for Java 11, so that every
    runtime runs it, by the oldest JDK here with a compiler."""
    coordinates, package = LIBRARIES[request.param]
    folder = tmp_path_factory.mktemp(request.param)
    jars = maven_jars(request.param, [coordinates], folder / "maven")
    source = folder / f"{PROGRAM}.java"
    source.write_text((PROGRAMS / f"{PROGRAM}.java").read_text().replace("import akka.", f"import {package}"))
    javac = machine_jdks()[0] / "bin" / "javac"
    subprocess.run([str(javac), "--release", "11", "-g", "-d", str(folder / "classes"),
                    "-cp", ":".join(map(str, jars)), str(source)], check=True, capture_output=True, text=True)
    return package, folder / "classes", jars


def imported_report(data: Path, db: Path) -> dict:
    """The JSON report of the run the drain files in `data` make, imported into `db` so far."""
    cli("import", data, "--db", db)
    return json.loads(cli("report", db, "--format", "json"))


def preexisting(report: dict) -> dict:
    """(kind, detail) -> (count, released, leaked, held, bytes) of what existed before tracking."""
    return {(e["kind"], e["detail"] or ""): (e["count"], e["released"], e["leaked"], e["held"], e["bytes"])
            for e in report["preexisting"]}


def settle(data: Path, db: Path, done, timeout: float = 30) -> dict:
    """The report once `done(preexisting(report))` holds (the agent drains every 2 s), or as it is at the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        report = imported_report(data, db) if any(data.glob("unclosed-*.tsv")) else {"preexisting": []}
        if done(preexisting(report)) or time.monotonic() > deadline:
            return report
        time.sleep(0.5)


def test_what_a_jvm_held_before_the_attach_is_counted_and_watched(lts_jdk, program, tmp_path):
    package, classes, jars = program
    data, db = tmp_path / "data", tmp_path / "inventory.db"
    jvm = RunningJvm(lts_jdk, classes, PROGRAM, classpath=jars, env=env_without_java_options())
    try:
        jvm.expect("ready", timeout=60)
        attach = subprocess.run([str(lts_jdk / "bin" / "java"), "-jar", str(agent_jar()), str(jvm.pid),
                                 f"data={data},dir={tmp_path / 'agent'}"], capture_output=True, text=True, timeout=120)
        assert attach.returncode == 0, attach.stderr

        deflaters = ("java.util.zip.Deflater", "")
        held = {
            deflaters: (100, 0, 0, 100, 100 * DEFLATER_BYTES),
            ("java.util.zip.Inflater", ""): (20, 0, 0, 20, 20 * INFLATER_BYTES),
            ("java.nio.DirectByteBuffer", ""): (16, 0, 0, 16, 16 * 4 * 1024 * 1024),
            (f"{package}stream.Source.actorRef", STAGES): (5, 0, 0, 5, 0),
        }
        report = settle(data, db, lambda found: len(found) == len(held))
        assert preexisting(report) == held
        # The JVM's own: the Inflaters pooled by the open jar files (the class path) are left
        # out, and said so; nothing was hidden from the agent.
        (run,) = report["runs"]
        assert run["counters"]["preexisting_excluded_zip_pool"] > 0 and run["notes"] == []
        text = cli("report", db).splitlines()
        assert "existed before tracking: 100 java.util.zip.Deflater (~25.6 MiB), no creation stacks" in text
        assert f"existed before tracking: 5 {package}stream.Source.actorRef ({STAGES}), no creation stacks" in text
        assert (f"existed before tracking, not counted: {run['counters']['preexisting_excluded_zip_pool']:,} Inflaters "
                "that ZipFile pools for open jar and zip files (it ends them itself)") in text

        jvm.send("end-deflaters 40")
        held[deflaters] = (100, 40, 0, 60, 60 * DEFLATER_BYTES)
        assert preexisting(settle(data, db, lambda found: found.get(deflaters, (0, 0))[1] == 40)) == held
        assert ("existed before tracking: 100 java.util.zip.Deflater, no creation stacks: 60 still held at the end "
                "(~15.4 MiB), 40 released") in cli("report", db).splitlines()
    finally:
        jvm.kill()
