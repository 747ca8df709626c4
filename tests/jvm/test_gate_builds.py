"""The CI gate on real builds. The README's Gradle and Maven snippets in the projects of
tests/projects: a library line that forgets `end()`, reached from 13 tests along several paths,
and two tests that leak on their own, one of them on a pool's threads (whose stacks show no
test: only the agent's attribution names it). Version 2 of the library fixes its line. Each
build is made once (the `builds` fixture) and read by several tests: the gate's text, the JSON
findings, JUnit XML, the diff of the two versions. Then `unclosed run` around all of a Gradle
build's JVMs, around several JVMs (one killed), baselines, sampling."""
from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers.cli import BIN, run
from helpers.jvm import compile_program, java_feature, jdk_id, machine_jdks, marked_line
from helpers.readme import snippet
from unclosed.findings import called_by_runner

PROJECTS = Path(__file__).parents[1] / "projects"
SHARED = PROJECTS / "shared"
JDKS = machine_jdks()
JDK17 = next((jdk for jdk in JDKS if java_feature(jdk) == 17), None)
GRADLE = JDK17 is not None and shutil.which("gradle") is not None  # Debian's Gradle 4.4 runs on JDK 17
UNCLOSED = str(BIN / "unclosed")
GATE_FAILED = 3
LIB, APP = "src/main/java/com/acme/lib/", "src/test/java/com/acme/app/"


def line_of(path: str, text: str) -> int:
    """The number of the one line of tests/projects/shared/PATH that holds `text`."""
    numbers = [n for n, line in enumerate((SHARED / path).read_text().splitlines(), 1) if text in line]
    assert len(numbers) == 1, (path, text, numbers)
    return numbers[0]


# What the tests leak, counted from their code (tests/projects/shared/src/test/java/com/acme/app):
# - at the library's line, Deflaters: CodecTest's 12 tests case01..case12 each call exercise(),
#   5 Deflaters along 4 paths (compress; Messages.encode; Archive.pack of 2 entries; roundTrips),
#   and ArchiveTest.packsABatch packs 6 entries: 12 x 5 + 6 = 66 objects, 12 x 4 + 1 = 49 stacks;
# - PoolTest.compressesOnAPool: 4 tasks on a pool, a Deflater each, never ended;
# - LogRollerTest.rollsLogs: 3 GZIPOutputStreams finished, never closed.
# Everything else they make is released (LogRollerTest.closesWhatItRolls, roundTrips' Inflater).
CODEC = (SHARED / APP / "CodecTest.java").read_text()
assert len(re.findall(r"public void case\d\d\(\) \{\n\s+exercise\(", CODEC)) == 12
LIBRARY_LINE = f"com.acme.lib.Compressor.compress(Compressor.java:{line_of(LIB + 'Compressor.java', '// site:library')})"
POOL_LINE = f"com.acme.app.PoolTest.lambda$compressesOnAPool$0(PoolTest.java:{line_of(APP + 'PoolTest.java', '// site:pool')})"
ROLLER_LINE = f"com.acme.app.LogRollerTest.rollsLogs(LogRollerTest.java:{line_of(APP + 'LogRollerTest.java', '// site:roller')})"
LIBRARY_TESTS = [("com.acme.app.ArchiveTest.packsABatch", 6)] + [(f"com.acme.app.CodecTest.case{n:02d}", 5) for n in range(1, 13)]
POOL_TEST, ROLLER_TEST = "com.acme.app.PoolTest.compressesOnAPool", "com.acme.app.LogRollerTest.rollsLogs"
LIBRARY_PATHS = 49
DEFLATER_BYTES = 268_288  # the README's estimate of one Deflater's native memory
# (kind, culprit, objects leaked (all those opened), their tests), worst first.
FINDINGS = [("java.util.zip.Deflater", LIBRARY_LINE, 66, LIBRARY_TESTS),
            ("java.util.zip.Deflater", POOL_LINE, 4, [(POOL_TEST, 4)]),
            ("java.util.zip.GZIPOutputStream", ROLLER_LINE, 3, [(ROLLER_TEST, 3)])]
# The library finding's top path: ArchiveTest's 6 objects, the most of any one stack.
TOP_PATH = [f"  path 1 of {LIBRARY_PATHS}:",
            f"    at com.acme.lib.Archive.pack(Archive.java:{line_of(LIB + 'Archive.java', 'Compressor.compress(entry)')})",
            f"    at com.acme.app.ArchiveTest.packsABatch(ArchiveTest.java:{line_of(APP + 'ArchiveTest.java', 'Archive.pack(entry,')})",
            "    ..."]
GATE_LINE_BUDGET = 30


def gate_text(version: int) -> list[str]:
    """What the gate prints for the tests' JVM (`in JVM PID (MAIN)`), version 1 or 2 (the
    library's line fixed)."""
    jvm = "in JVM PID (MAIN)"
    library = ["",
               f"java.util.zip.Deflater: leaked 66 (16.9 MiB) of 66 opened; {jvm}",
               f"  culprit: {LIBRARY_LINE}",
               "  tests: com.acme.app.ArchiveTest.packsABatch (6), com.acme.app.CodecTest.case01 (5), "
               "com.acme.app.CodecTest.case02 (5) and 10 more",
               *TOP_PATH]
    own = ["",
           f"java.util.zip.Deflater: leaked 4 (1 MiB) of 4 opened; {jvm}",
           f"  culprit: {POOL_LINE}",
           f"  tests: {POOL_TEST} (4)",
           "",
           f"java.util.zip.GZIPOutputStream: leaked 3 (786 KiB) of 3 opened; {jvm}",
           f"  culprit: {ROLLER_LINE}",
           f"  tests: {ROLLER_TEST} (3)"]
    if version == 2:
        return ["unclosed: gate FAILED: 2 findings left zlib resources unreleased (1 JVM)", *own]
    return ["unclosed: gate FAILED: 3 findings left zlib resources unreleased (1 JVM)", *library, *own]


def without_paths(lines: list[str]) -> list[str]:
    """The gate's lines less its findings' paths (see test_each_distinct_stack_is_a_path)."""
    return [line for line in lines if not line.startswith(("  path", "    "))]


ANSI = re.compile(r"\x1b\[[0-9;]*m")
JVM = re.compile(r"in JVM (\d+) \(([^)]*)\)")


def gate_output(output: str) -> tuple[list[str], set[str]]:
    """The gate's lines in a build's output (from its verdict on), each `in JVM PID (MAIN)`, and
    the main classes they named."""
    lines = ANSI.sub("", output).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("unclosed: gate "))
    lines = lines[start:]
    while lines and not lines[-1]:
        lines.pop()
    mains = {main for line in lines for _, main in JVM.findall(line)}
    return [JVM.sub("in JVM PID (MAIN)", line) for line in lines], mains


def project(kind: str, target: Path, fixed: bool = False) -> Path:
    """A copy of tests/projects/KIND with the shared sources and the README's snippet in its build
    file; `fixed`: version 2, whose library ends its Deflater. Maven's runs the tests on JUnit 5."""
    shutil.copytree(SHARED, target)
    for f in (PROJECTS / kind).iterdir():
        text = f.read_text()
        for marker in ("// README_SNIPPET", "<!-- README_SNIPPET -->"):
            text = text.replace(marker, snippet(kind))
        (target / f.name).write_text(text)
    if kind == "maven":
        for test in (target / "src/test").rglob("*.java"):
            test.write_text(test.read_text().replace("import org.junit.Test;", "import org.junit.jupiter.api.Test;"))
    if fixed:
        source = target / LIB / "Compressor.java"
        source.write_text(source.read_text().replace("// FIX: ", ""))
    return target


def env_for(jdk: Path) -> dict:
    env = dict(os.environ, JAVA_HOME=str(jdk), PATH=f"{BIN}:{jdk / 'bin'}:{os.environ['PATH']}")
    env.pop("JAVA_TOOL_OPTIONS", None)
    return env


@dataclass
class Build:
    """One version of a project built with the README's snippet: its gate output and data."""
    tool: str
    version: int
    project: Path
    data: Path  # the agent's data folder
    stdout: str  # the gate's text is here
    output: str  # stdout and stderr
    returncode: int


@dataclass
class Builds:
    """Versions 1 and 2 of a project built by one tool on one JDK, and both imported into one
    database, labelled v1 and v2."""
    tool: str
    jdk: Path
    v1: Build
    v2: Build
    db: Path


BUILDS = ([pytest.param(("gradle", JDK17), id="gradle-jdk17",
                        marks=pytest.mark.skipif(not GRADLE, reason="Debian's Gradle 4.4 runs on JDK 17"))]
          + [pytest.param(("maven", jdk), id=f"maven-{jdk_id(jdk)}") for jdk in JDKS])


@pytest.fixture(scope="module", params=BUILDS)
def builds(request, tmp_path_factory) -> Builds:
    """Versions 1 and 2 built with the README's snippet: Gradle 4.4's (JUnit 4) on JDK 17, Maven's
    (JUnit 5 through surefire) on each JDK of the machine."""
    tool, jdk = request.param
    root = tmp_path_factory.mktemp(f"{tool}-{jdk_id(jdk)}")
    made = {}
    for version in (1, 2):
        proj = project(tool, root / f"v{version}", fixed=version == 2)
        if tool == "gradle":
            done, data = run(["gradle", "-q", "--no-daemon", "test"], proj, env_for(jdk)), proj / "build/unclosed"
        else:
            done, data = run(["bash", "-c", snippet("maven-command")], proj, env_for(jdk)), proj / "target/unclosed"
        made[version] = Build(tool, version, proj, data, done.stdout, done.stdout + done.stderr, done.returncode)
    db = root / "releases.db"
    for version in (1, 2):
        subprocess.run([UNCLOSED, "import", str(made[version].data), "--db", str(db), "--label", f"v{version}"],
                       check=True, capture_output=True, text=True)
    return Builds(tool, jdk, made[1], made[2], db)


def unclosed(*args, code: int = 0) -> str:
    done = subprocess.run([UNCLOSED, *map(str, args)], capture_output=True, text=True, timeout=180)
    assert done.returncode == code, f"unclosed {' '.join(map(str, args))} exited {done.returncode}: {done.stderr}"
    return done.stdout


def test_the_gate_lists_three_findings_with_their_counts_and_tests(builds):
    b = builds.v1
    lines, mains = gate_output(b.stdout)
    if b.tool == "gradle":
        # The tests passed (17 of them); the check after them failed the build.
        assert b.returncode != 0 and "Execution failed for task ':unclosedCheck'" in b.output, b.output
        results = [ET.parse(f).getroot() for f in (b.project / "build/test-results/test").glob("*.xml")]
        assert (sum(int(r.get("tests")) for r in results), sum(int(r.get("failures")) for r in results)) == (17, 0)
        assert mains == {"worker.org.gradle.process.internal.worker.GradleWorkerMain"}
    else:
        # mvn passed (the enforcer let -Dunclosed.agent through; the 17 tests passed); the check failed.
        assert b.returncode == GATE_FAILED, b.output
        assert "Tests run: 17, Failures: 0, Errors: 0, Skipped: 0" in b.output and "BUILD SUCCESS" in b.output
        assert len(mains) == 1 and re.fullmatch(r".*/target/surefire/surefirebooter[-\d_]*\.jar", mains.pop())
    assert without_paths(lines) == without_paths(gate_text(1)), "\n".join(lines)
    assert lines[5:7] == [lines[5], TOP_PATH[1]] and lines[5].startswith("  path 1 of ")  # all paths: below
    assert len(lines) <= GATE_LINE_BUDGET


def test_a_release_that_fixes_the_library_line_leaves_two_findings(builds):
    b = builds.v2
    assert b.returncode == (1 if b.tool == "gradle" else GATE_FAILED), b.output
    assert gate_output(b.stdout)[0] == gate_text(2)


def test_the_json_findings_match_the_gate(builds):
    report = json.loads(unclosed("report", builds.v1.data, "--format", "json"))
    assert [(f["kind"], f["culprit"], f["leaked"], [(t["name"], t["objects"]) for t in f["tests"]])
            for f in report["findings"]] == FINDINGS
    for f, (kind, _, leaked, _) in zip(report["findings"], FINDINGS):
        assert (f["family"], f["opened"], f["released"], f["held"], f["in_flight"], f["runs"]) == ("zlib", leaked, 0, 0, 0, [1])
        assert f["bytes_leaked"] == leaked * DEFLATER_BYTES  # a GZIPOutputStream's is its Deflater's


def test_a_leak_on_a_pool_thread_is_named_by_the_test_running_when_it_was_created(builds):
    # The pool's threads show no test in their stacks: the frames alone name none; the agent's
    # attribution (JUnit 4's RunNotifier on Gradle, the JUnit Platform's listener on Maven) does.
    report = json.loads(unclosed("report", builds.v1.data, "--format", "json"))
    pool = next(f for f in report["findings"] if f["culprit"] == POOL_LINE)
    [site] = [s for s in report["sites"] if s["culprit"] == POOL_LINE]
    assert called_by_runner(site) is None
    assert not [frame for frame in site["frames"] if frame.startswith(("com.acme.app.PoolTest.compressesOnAPool", "org.junit"))]
    assert pool["tests"] == [{"name": POOL_TEST, "objects": 4}]
    assert f"  tests: {POOL_TEST} (4)" in gate_output(builds.v1.stdout)[0]


def test_junit_xml_has_a_failing_case_per_finding_naming_its_tests(builds):
    xml = unclosed("check", builds.v1.data, "--fail-on", "zlib", "--format", "junit", code=GATE_FAILED)
    suite = ET.fromstring(xml)
    assert (suite.get("tests"), suite.get("failures")) == ("3", "3")
    cases = suite.findall("testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        (f"unclosed.{kind}", culprit) for kind, culprit, _, _ in FINDINGS]
    gate = [line for line in gate_output(builds.v1.stdout)[0] if line.startswith("java.util.zip.")]
    tests = [line.removeprefix("  tests: ") for line in gate_output(builds.v1.stdout)[0] if line.startswith("  tests: ")]
    for case, header, top, (_, culprit, _, named) in zip(cases, gate, tests, FINDINGS):
        failure = case.find("failure")
        assert JVM.sub("in JVM PID (MAIN)", failure.get("message")) == f"{header}; tests: {top}"
        body = failure.text.splitlines()
        assert body[0] == f"culprit: {culprit}"
        assert [line for line in body if line.startswith("test: ")] == [f"test: {name} ({n})" for name, n in named]


def test_a_release_that_fixes_the_library_line_diffs_as_fixed_1_unchanged_2(builds):
    db = builds.db
    text = unclosed("diff", f"{db}:v1", f"{db}:v2").splitlines()
    assert text[3] == "new 0, fixed 1, changed 0, unchanged 2"
    fixed = text.index(next(line for line in text if line.startswith("FIXED ")))
    assert re.fullmatch(r"FIXED java\.util\.zip\.Deflater: leaked 66 \(16\.9 MiB\) held 0 \(0 B\) of 66 opened "
                        r"at \d+ paths in v1; in v2 all 66 opened were released", text[fixed])
    assert text[fixed + 1:fixed + 3] == [f"  culprit: {LIBRARY_LINE}",
                                         "  matched by key: java.util.zip.Deflater @ com.acme.lib.Compressor.compress"]
    assert text[text.index("unchanged:") + 1:] == [
        f"  java.util.zip.Deflater at {POOL_LINE}: leaked 4 -> 4, held 0 -> 0, 1 MiB -> 1 MiB",
        f"  java.util.zip.GZIPOutputStream at {ROLLER_LINE}: leaked 3 -> 3, held 0 -> 0, 786 KiB -> 786 KiB"]

    # The same by the data folders themselves, as JSON.
    diff = json.loads(unclosed("diff", builds.v1.data, builds.v2.data, "--format", "json"))
    assert diff["summary"] == {"new": 0, "fixed": 1, "changed": 0, "unchanged": 2}
    [fixed] = diff["fixed"]
    assert (fixed["key"], fixed["culprit"], fixed["old"]["leaked"], fixed["new"]["leaked"], fixed["new"]["opened"],
            fixed["match"]["by"]) == ("java.util.zip.Deflater @ com.acme.lib.Compressor.compress", LIBRARY_LINE, 66, 0, 66, "key")
    assert [tuple(test) for test in fixed["tests"]] == LIBRARY_TESTS
    assert [(f["culprit"], f["old"]["leaked"], f["new"]["leaked"], [tuple(t) for t in f["tests"]], f["match"]["by"])
            for f in diff["unchanged"]] == [(POOL_LINE, 4, 4, [(POOL_TEST, 4)], "key"),
                                            (ROLLER_LINE, 3, 3, [(ROLLER_TEST, 3)], "key")]


def test_report_names_the_tests_of_an_imported_build(builds):
    runs = sqlite3.connect(builds.db).execute("SELECT id FROM runs WHERE label = 'v1'").fetchall()
    text = unclosed("report", builds.db, "--run", runs[0][0])
    block = next(b for b in text.split("\n\n") if f"  culprit: {POOL_LINE}" in b).splitlines()
    assert block[1:3] == [f"  culprit: {POOL_LINE}", f"  tests: {POOL_TEST} (4)"], text


def test_each_distinct_stack_is_a_path(builds):
    report = json.loads(unclosed("report", builds.v1.data, "--format", "json"))
    library = report["findings"][0]
    callers = {frame for s in report["sites"] if s["culprit"] == LIBRARY_LINE for frame in s["frames"]
               if frame.startswith("com.acme.app.CodecTest.case")}
    assert (library["paths"], len(callers)) == (LIBRARY_PATHS, 12)
    assert gate_output(builds.v1.stdout)[0][5:10] == TOP_PATH + [""]


def test_the_maven_snippet_fails_at_once_without_the_agent_property(tmp_path):
    # Without the enforcer, surefire's fork died: "Error opening zip file or JAR manifest missing :
    # ${unclosed.agent}", "The forked VM terminated without saying properly goodbye".
    jdk = JDKS[0]
    for name, args, message in (
            ("missing", [], 'unclosed: -Dunclosed.agent is missing: the tests need -Dunclosed.agent="$(unclosed agent-path)"'),
            ("empty", ["-Dunclosed.agent="], "unclosed: -Dunclosed.agent is not the agent's jar (`unclosed agent-path` "
                                              "prints it: is unclosed on the PATH?)")):
        proj = project("maven", tmp_path / name)
        done = run(["mvn", "-B", *args, "test"], proj, env_for(jdk))
        output = done.stdout + done.stderr
        assert done.returncode == 1, output
        assert f"[ERROR] {message}" in output.splitlines(), output
        assert "maven-enforcer-plugin" in output and "JAR manifest missing" not in output
        assert not (proj / "target/classes").exists() and not (proj / "target/unclosed").exists()  # nothing built


@pytest.mark.skipif(not GRADLE, reason="Debian's Gradle 4.4 runs on JDK 17")
def test_run_wraps_a_gradle_build_with_all_its_jvms(tmp_path):
    proj = project("gradle", tmp_path / "gradle")
    (proj / "build.gradle").write_text((PROJECTS / "gradle" / "build.gradle").read_text())  # no snippet: run does it
    db, junit = tmp_path / "leaks.db", tmp_path / "unclosed.xml"
    result = run([UNCLOSED, "run", "--fail-on", "zlib", "--db", str(db), "--junit", str(junit), "--label", "ci", "--",
                  "gradle", "-q", "--no-daemon", "test"], proj, env_for(JDK17))
    assert result.returncode == GATE_FAILED, result.stderr
    runs = sqlite3.connect(db).execute("SELECT main_class, label, status FROM runs").fetchall()
    assert len(runs) >= 2, runs  # the Gradle client and its test worker, at least
    assert {label for _, label, _ in runs} == {"ci"} and {status for _, _, status in runs} == {"complete"}
    worker = "worker.org.gradle.process.internal.worker.GradleWorkerMain"
    assert sum(main == worker for main, _, _ in runs) == 1, runs

    lines = ANSI.sub("", result.stderr).splitlines()
    lines = lines[next(i for i, line in enumerate(lines) if line.startswith("unclosed: gate ")):]
    blocks = "\n".join(lines).split("\n\n")
    # The test worker's findings, as the snippet's gate shows them; then Gradle's own (4.4's
    # classpath scanning leaks ZipInputStreams), in the Gradle client.
    ours = [block for block in blocks[1:] if f"({worker})" in block.splitlines()[0]]
    expected = "\n".join(without_paths(gate_text(1))).split("\n\n")[1:]
    assert ["\n".join(without_paths(JVM.sub("in JVM PID (MAIN)", block).splitlines())) for block in ours] == expected
    gradles = [block for block in blocks[1:] if block not in ours]
    assert all(block.splitlines()[1].startswith("  culprit: org.gradle.") for block in gradles), blocks
    assert re.fullmatch(rf"unclosed: gate FAILED: {3 + len(gradles)} findings left zlib resources unreleased "
                        rf"\({len(runs)} JVMs\)", blocks[0]), blocks[0]
    failing = [case.get("name") for case in ET.parse(junit).getroot().iter("testcase") if case.find("failure") is not None]
    assert {LIBRARY_LINE, POOL_LINE, ROLLER_LINE} <= set(failing)


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
