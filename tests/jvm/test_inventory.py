"""The inventory at attach (issue 17), agent side, on JDK 11, 17, 21 and 25: what a JVM held
before the agent came (zlib objects, direct buffers, Akka or Pekko streams) is counted exactly,
under the sites of role `p` of the agent's drain files, and watched from then on.

The controller does not read drain format 2 yet: the agent is loaded with its own launcher
(`java -jar unclosed-agent.jar PID data=DIR`), which writes drain files into DIR every 2 s, and
the files are read here."""
from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from helpers.jvm import PROGRAMS, RunningJvm, env_without_java_options, machine_jdks
from helpers.maven import maven_jars
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


def preexisting(data: Path) -> dict:
    """(kind, detail) -> (opened, released, leaked, held, bytes_held) of each site of role p,
    from the drain files in `data`: a site's S record is in the file that first had it, its
    totals (C) in every file; the newest is taken."""
    files = sorted(data.glob("unclosed-*.tsv"))
    sites, totals = {}, {}
    for index, file in enumerate(files):
        for line in file.read_text().splitlines():
            record = line.split("\t")
            if record[0] == "S" and record[2] == "p":
                sites[record[1]] = (record[3], record[6])
            elif record[0] == "C" and index == len(files) - 1:
                totals[record[1]] = tuple(int(n) for n in record[2:7])
    return {site: totals[site_id] for site_id, site in sites.items() if site_id in totals}


def newest(data: Path, record: str) -> list[list[str]]:
    """The fields of every `record` record of the newest drain file."""
    lines = sorted(data.glob("unclosed-*.tsv"))[-1].read_text().splitlines()
    return [line.split("\t")[1:] for line in lines if line.split("\t")[0] == record]


def settle(data: Path, done, timeout: float = 30) -> dict:
    """The sites of role p once `done(sites)` holds (the agent drains every 2 s), or as they are at the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        found = preexisting(data) if any(data.glob("unclosed-*.tsv")) else {}
        if done(found) or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def test_what_a_jvm_held_before_the_attach_is_counted_and_watched(lts_jdk, program, tmp_path):
    package, classes, jars = program
    data = tmp_path / "data"
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
        assert settle(data, lambda sites: len(sites) == len(held)) == held
        # The JVM's own: the Inflaters pooled by the open jar files (the class path) are left
        # out, and said so; nothing was hidden from the agent.
        counters = dict(newest(data, "N"))
        assert int(counters["preexisting_excluded_zip_pool"]) > 0
        assert newest(data, "I") == []

        jvm.send("end-deflaters 40")
        held[deflaters] = (100, 40, 0, 60, 60 * DEFLATER_BYTES)
        assert settle(data, lambda sites: sites.get(deflaters, (0, 0))[1] == 40) == held
    finally:
        jvm.kill()
