"""The CI gate on real builds: the README's Gradle and Maven snippets in real projects whose
tests leak a Deflater, `unclosed run` around several JVMs (one killed), baselines, JUnit XML."""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from helpers.cli import BIN, run
from helpers.jvm import compile_program, java_feature, machine_jdks, marked_line
from helpers.readme import snippet

ROOT = Path(__file__).parents[2]
PROJECTS = Path(__file__).parents[1] / "projects"
JDKS = machine_jdks()
JDK17 = next((jdk for jdk in JDKS if java_feature(jdk) == 17), None)
COMPRESSOR = PROJECTS / "shared/src/main/java/demo/Compressor.java"
CULPRIT = "demo.Compressor.compress(Compressor.java:%d)" % next(
    n for n, line in enumerate(COMPRESSOR.read_text().splitlines(), 1) if line.endswith("// site:compressor"))
GATE_FAILED = 3


def project(kind: str, tmp_path: Path, fixed: bool = False) -> Path:
    """A copy of tests/projects/KIND with the shared sources and the README's snippet in its build file."""
    target = tmp_path / kind
    shutil.copytree(PROJECTS / "shared", target)
    for f in (PROJECTS / kind).iterdir():
        text = f.read_text()
        for marker in ("// README_SNIPPET", "<!-- README_SNIPPET -->"):
            text = text.replace(marker, snippet(kind))
        (target / f.name).write_text(text)
    if fixed:
        source = target / "src/main/java/demo/Compressor.java"
        source.write_text(source.read_text().replace("// FIX: ", ""))
    return target


def env_for(jdk: Path) -> dict:
    env = dict(os.environ, JAVA_HOME=str(jdk), PATH=f"{BIN}:{jdk / 'bin'}:{os.environ['PATH']}")
    env.pop("JAVA_TOOL_OPTIONS", None)
    return env


@pytest.mark.skipif(JDK17 is None or shutil.which("gradle") is None, reason="Debian's Gradle 4.4 runs on JDK 17")
@pytest.mark.parametrize("fixed", [False, True], ids=["leaky", "fixed"])
def test_the_gradle_snippet_fails_the_build_until_the_leak_is_fixed(tmp_path, fixed):
    build = run(["gradle", "-q", "--no-daemon", "test"], project("gradle", tmp_path, fixed), env_for(JDK17))
    output = build.stdout + build.stderr
    if fixed:
        assert build.returncode == 0, output
        assert "unclosed: gate passed" in output
    else:
        assert build.returncode != 0, output
        assert "gate FAILED: 1 finding left zlib resources unreleased" in output, output
        assert f"culprit: {CULPRIT}" in output, output


@pytest.mark.parametrize("jdk", JDKS, ids=lambda jdk: f"jdk{java_feature(jdk)}")
def test_the_maven_snippet_fails_the_build_until_the_leak_is_fixed(tmp_path, jdk):
    for fixed in (False, True):
        build = run(["bash", "-c", snippet("maven-command")], project("maven", tmp_path / str(fixed), fixed), env_for(jdk))
        output = build.stdout + build.stderr
        if fixed:
            assert build.returncode == 0, output
            assert "unclosed: gate passed" in output
        else:
            assert build.returncode == GATE_FAILED, output
            assert f"culprit: {CULPRIT}" in output, output


@pytest.mark.skipif(JDK17 is None or shutil.which("gradle") is None, reason="Debian's Gradle 4.4 runs on JDK 17")
def test_run_wraps_a_gradle_build_with_all_its_jvms(tmp_path):
    proj = project("gradle", tmp_path)
    (proj / "build.gradle").write_text((PROJECTS / "gradle" / "build.gradle").read_text())  # no snippet: run does it
    db, junit = tmp_path / "leaks.db", tmp_path / "unclosed.xml"
    result = run([str(BIN / "unclosed"), "run", "--db", str(db), "--junit", str(junit), "--label", "ci", "--",
                  "gradle", "-q", "--no-daemon", "test"], proj, env_for(JDK17))
    assert result.returncode == GATE_FAILED, result.stderr
    assert f"culprit: {CULPRIT}" in result.stderr
    runs = sqlite3.connect(db).execute("SELECT main_class, label, status FROM runs").fetchall()
    assert len(runs) >= 2, runs  # the Gradle client and its test worker, at least
    assert any("GradleWorkerMain" in (main or "") for main, _, _ in runs), runs
    assert {label for _, label, _ in runs} == {"ci"}
    failing = [case.get("name") for case in ET.parse(junit).getroot().iter("testcase") if case.find("failure") is not None]
    assert CULPRIT in failing


@pytest.fixture(scope="module")
def workload():
    jdk = JDKS[0]
    return jdk, compile_program(jdk, "ZlibWorkload", Path(os.environ.get("TMPDIR", "/tmp")) / f"gate-workload-{os.getpid()}")


def test_run_keeps_what_a_killed_jvm_wrote_and_fails_on_it(tmp_path, workload):
    jdk, classes = workload
    java = f"{jdk / 'bin' / 'java'} -cp {classes} ZlibWorkload"
    script = f"""
        set -e
        printf 'leaky\\nexit\\n' | {java} > normal.out
        mkfifo commands
        {java} -Dunclosed.test=victim < commands > victim.out &
        victim=$!
        exec 3> commands
        echo leaky >&3
        for i in $(seq 300); do grep -q done victim.out && break; sleep 0.1; done
        sleep 3  # the agent writes its data every 2 s
        kill -9 $victim
        wait $victim || true
    """
    db = tmp_path / "leaks.db"
    result = run([str(BIN / "unclosed"), "run", "--db", str(db), "--", "bash", "-c", script], tmp_path, env_for(jdk))
    assert result.returncode == GATE_FAILED, result.stderr
    runs = sqlite3.connect(db).execute("SELECT id, status, exit_ms, pid FROM runs ORDER BY id").fetchall()
    assert [(status, bool(exit_ms)) for _, status, exit_ms, _ in runs] == [("complete", True), ("incomplete", False)]
    # What the killed JVM did after its last data is unknown: that fails the gate, whatever it leaked.
    assert f"  JVM {runs[1][3]} (ZlibWorkload) did not exit normally: its data ends at " in result.stderr
    report = json.loads(subprocess.run([str(BIN / "unclosed"), "report", str(db), "--format", "json", "--run",
                                        str(runs[1][0])], capture_output=True, text=True, check=True).stdout)
    # Everything the victim leaked before it was killed is there.
    assert sum(s["leaked"] for s in report["sites"]) == 13
    allowed = run([str(BIN / "unclosed"), "check", str(db), "--run", str(runs[1][0]), "--allow-incomplete"],
                  tmp_path, env_for(jdk))
    assert allowed.returncode == GATE_FAILED and "did not exit normally (--allow-incomplete)" in allowed.stdout


def test_a_baseline_excuses_known_sites_but_not_a_new_one(tmp_path, workload):
    jdk, classes = workload
    unclosed = str(BIN / "unclosed")
    agent = subprocess.check_output([unclosed, "agent-path"], text=True).strip()

    def leaks(folder: Path, commands: str) -> Path:
        subprocess.run([str(jdk / "bin" / "java"), f"-javaagent:{agent}=data={folder}", "-cp", str(classes),
                        "ZlibWorkload"], input=commands, capture_output=True, text=True, check=True, env=env_for(jdk))
        return folder

    baseline = tmp_path / "baseline.json"
    subprocess.run([unclosed, "baseline", str(leaks(tmp_path / "old", "leaky\nexit\n")), "-o", str(baseline)],
                   check=True, capture_output=True)
    written = json.loads(baseline.read_text())
    assert "line numbers ignored" in written["matches_by"] and len(written["findings"]) == 8

    new = leaks(tmp_path / "new", "leaky\nnew-leak\nexit\n")
    assert run([unclosed, "check", str(new)], tmp_path, env_for(jdk)).returncode == GATE_FAILED
    check = run([unclosed, "check", str(new), "--baseline", str(baseline), "--format", "junit"], tmp_path, env_for(jdk))
    assert check.returncode == GATE_FAILED
    cases = ET.fromstring(check.stdout).findall("testcase")
    assert [c.get("name") for c in cases if c.find("failure") is not None] == [
        f"ZlibWorkload.leakAtANewSite(ZlibWorkload.java:{marked_line('ZlibWorkload', 'new_site')})"]
    old_again = leaks(tmp_path / "again", "leaky\nexit\n")
    passed = run([unclosed, "check", str(old_again), "--baseline", str(baseline)], tmp_path, env_for(jdk))
    assert passed.returncode == 0 and "excused by the baseline" in passed.stdout


def test_run_passes_sampling_to_every_jvm_and_the_gate_still_finds_a_repeated_leak(tmp_path, workload):
    jdk, classes = workload
    db = tmp_path / "leaks.db"
    result = subprocess.run([str(BIN / "unclosed"), "run", "--sample", "4", "--db", str(db), "--",
                             str(jdk / "bin" / "java"), "-cp", str(classes), "ZlibWorkload"],
                            input="leaky 20\nexit\n", capture_output=True, text=True, env=env_for(jdk), timeout=120)
    assert result.returncode == GATE_FAILED, result.stderr
    assert sqlite3.connect(db).execute("SELECT sample FROM runs").fetchall() == [(4,)]
    assert f"ZlibWorkload.leakGzipOutput(ZlibWorkload.java:{marked_line('ZlibWorkload', 'gzip_out')})" in result.stderr
