"""`report` on a real build: a Maven project whose JUnit 4 test leaks a Deflater, run with the
README's surefire snippet; its data folder imported, the finding names the test that did it."""
from __future__ import annotations

import json

import pytest

from helpers.cli import run
from helpers.recording import cli
from jvm.test_gate_builds import CULPRIT, JDK17, env_for, project
from unclosed import agent_jar

TEST = "demo.CompressorTest.compressesRepeatedText"


@pytest.mark.skipif(JDK17 is None, reason="needs JDK 17")
def test_a_finding_names_the_test_that_created_its_objects(tmp_path):
    build = project("maven", tmp_path)
    done = run(["mvn", "-q", f"-Dunclosed.agent={agent_jar()}", "test"], build, env_for(JDK17))
    assert done.returncode == 0, done.stdout + done.stderr
    db = tmp_path / "build.db"
    cli("import", build / "target" / "unclosed", "--db", db)

    report = json.loads(cli("report", db, "--format", "json"))
    assert [(f["kind"], f["culprit"], f["leaked"] + f["held"], f["paths"], f["tests"]) for f in report["findings"]] == [
        ("java.util.zip.Deflater", CULPRIT, 1, 1, [{"name": TEST, "objects": 1}])]
    text = cli("report", db).split("\n\n")[1].splitlines()
    assert text[1:5] == [f"  culprit: {CULPRIT}", f"  tests: {TEST} (1)",
                         "    at demo.CompressorTest.compressesRepeatedText(CompressorTest.java:11)", "    ..."]
