"""The gate (`unclosed check`, `baseline`) on data folders and databases written from hand-made
drain files: the log a person reads, JUnit XML, failing closed on data it cannot judge, baselines
and fleets (several sources at once). The gate on real builds: tests/jvm/test_gate_builds.py."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

from helpers.cli import BIN, run, run_cli
from helpers.drains import SESSION, write_drain
from helpers.jvm_data import DEFLATER, DEFLATER_INIT, LEAK, LIBRARY_LINE, RUNNER, T0, jvm_data, three_hosts
from unclosed.findings import RunFindings, group, merge_findings
from unclosed.gate import evaluate
from unclosed.gate_source import read_sources, still_running
from unclosed.units import clock

def three_bugs() -> list:
    """Three bugs behind 50 sites: one library line reached from 32 test lines, and two test
    methods that never end a Deflater, each reached along several runner paths."""
    sites = [([DEFLATER_INIT, LIBRARY_LINE, f"com.acme.CodecTest.case{n:02d}(CodecTest.java:{10 + n})", *RUNNER],
              [f"com.acme.CodecTest.case{n:02d}"], 2) for n in range(1, 33)]
    for culprit, test, paths in (("com.acme.RollerTest.rollsLogs(RollerTest.java:21)", "com.acme.RollerTest.rollsLogs", 10),
                                 ("com.acme.PackerTest.packs(PackerTest.java:40)", "com.acme.PackerTest.packs", 8)):
        sites += [([DEFLATER_INIT, culprit, *RUNNER[:-1], f"org.junit.runners.ParentRunner$3.run(ParentRunner.java:{300 + k})"],
                   [test], 1) for k in range(paths)]
    return sites


def check(*args) -> tuple[int, list[str]]:
    result = run_cli("check", *args)
    assert result.stderr == "", result.stderr
    return result.returncode, result.stdout.splitlines()


# -- the log a person reads --------------------------------------------------------------------

def test_three_bugs_behind_fifty_sites_are_three_findings_in_a_few_lines(tmp_path):
    code, lines = check(jvm_data(tmp_path / "data", 4242, three_bugs()))
    assert code == 3
    assert lines == [
        "unclosed: gate FAILED: 3 findings left zlib resources unreleased (1 JVM)",
        "",
        "java.util.zip.Deflater: leaked 64 (16.4 MiB) of 64 opened; in JVM 4242 (com.acme.Main)",
        f"  culprit: {LIBRARY_LINE}",
        "  tests: com.acme.CodecTest.case01 (2), com.acme.CodecTest.case02 (2), com.acme.CodecTest.case03 (2) and 29 more",
        "  path 1 of 32:",
        "    at com.acme.CodecTest.case01(CodecTest.java:11)",
        "    ...",
        "",
        "java.util.zip.Deflater: leaked 10 (2.6 MiB) of 10 opened; in JVM 4242 (com.acme.Main)",
        "  culprit: com.acme.RollerTest.rollsLogs(RollerTest.java:21)",
        "  tests: com.acme.RollerTest.rollsLogs (10)",
        "",
        "java.util.zip.Deflater: leaked 8 (2 MiB) of 8 opened; in JVM 4242 (com.acme.Main)",
        "  culprit: com.acme.PackerTest.packs(PackerTest.java:40)",
        "  tests: com.acme.PackerTest.packs (8)",
    ]


def test_junit_has_one_failing_case_per_finding_naming_its_tests(tmp_path):
    data = jvm_data(tmp_path / "data", 4242, three_bugs())
    result = run_cli("check", data, "--format", "junit")
    assert result.returncode == 3, result.stderr
    suite = ET.fromstring(result.stdout)
    assert (suite.get("tests"), suite.get("failures")) == ("3", "3")
    cases = suite.findall("testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        ("unclosed.java.util.zip.Deflater", LIBRARY_LINE),
        ("unclosed.java.util.zip.Deflater", "com.acme.RollerTest.rollsLogs(RollerTest.java:21)"),
        ("unclosed.java.util.zip.Deflater", "com.acme.PackerTest.packs(PackerTest.java:40)")]
    failure = cases[1].find("failure")
    assert failure.get("message") == ("java.util.zip.Deflater: leaked 10 (2.6 MiB) of 10 opened; in JVM 4242 "
                                      "(com.acme.Main); tests: com.acme.RollerTest.rollsLogs (10)")
    assert failure.text.splitlines()[:3] == ["culprit: com.acme.RollerTest.rollsLogs(RollerTest.java:21)",
                                             "test: com.acme.RollerTest.rollsLogs (10)", f"at {DEFLATER_INIT}"]
    assert len([line for line in cases[0].find("failure").text.splitlines() if line.startswith("test: ")]) == 32


def test_control_characters_from_the_jvm_are_escaped(tmp_path):
    hostile = "com.acme.\x1b[2JEvil.run(Evil.java:3)"
    code, lines = check(jvm_data(tmp_path / "data", 4242, [([DEFLATER_INIT, hostile], ["t\x00"], 1)]))
    assert code == 3
    assert "  culprit: com.acme.\\x1b[2JEvil.run(Evil.java:3)" in lines and "  tests: t\\x00 (1)" in lines
    junit = run_cli("check", tmp_path / "data", "--format", "junit").stdout
    assert "\x1b" not in junit and "\x00" not in junit and ET.fromstring(junit) is not None


# -- failing closed ----------------------------------------------------------------------------

def test_a_jvm_that_did_not_exit_fails_the_gate_unless_allowed(tmp_path):
    data = jvm_data(tmp_path / "data", 4242, [], exited=False)
    code, lines = check(data)
    assert code == 3
    ends = lines[1].split("its data ends at ")[1].split(";")[0]
    assert lines == [
        "unclosed: gate FAILED: 1 problem with the data (1 JVM)",
        f"  JVM 4242 (com.acme.Main) did not exit normally: its data ends at {ends}; what it did after is unknown "
        "(--allow-incomplete judges it on what it wrote)"]
    code, lines = check(data, "--allow-incomplete")
    assert code == 0
    assert lines == ["unclosed: gate passed: no zlib resource left unreleased (1 JVM)",
                     f"  JVM 4242 (com.acme.Main) did not exit normally (--allow-incomplete): judged on what it wrote "
                     f"until {ends}: its leaks; objects it held are not judged"]
    assert check(jvm_data(tmp_path / "leaky", 4242, [LEAK], exited=False), "--allow-incomplete")[0] == 3


def test_a_site_of_an_unknown_kind_fails_the_gate(tmp_path):
    # Counts of site 9, whose S record never reached this reader.
    data = jvm_data(tmp_path / "data", 4242, [], extra=[("C", 9, 3, 1, 2, 0, 0, 0, 0, 0, 0, 0)])
    code, lines = check(data)
    assert (code, lines) == (3, [
        "unclosed: gate FAILED: 1 problem with the data (1 JVM)",
        "  JVM 4242 (com.acme.Main): 2 objects leaked at 1 site(s) whose definition never reached the run: "
        "their kind is unknown"])


def test_objects_the_agent_could_not_see_fail_the_gate(tmp_path):
    data = jvm_data(tmp_path / "data", 4242, [], counters=[("instrumentation_errors", 2), ("dropped_objects", 7)])
    code, lines = check(data)
    assert (code, lines) == (3, [
        "unclosed: gate FAILED: 2 problems with the data (1 JVM)",
        "  JVM 4242 (com.acme.Main): the agent could not instrument 2 class(es): objects of their kinds may not "
        "have been seen (see its agent.log)",
        "  JVM 4242 (com.acme.Main): 7 objects were never tracked (past the agent's max_tracked): whether they "
        "were released is unknown"])
    junit = ET.fromstring(run_cli("check", data, "--format", "junit").stdout)
    assert [(c.get("classname"), c.get("name")) for c in junit.findall("testcase")] == [
        ("unclosed.data", "JVM 4242 (com.acme.Main): instrumentation errors"),
        ("unclosed.data", "JVM 4242 (com.acme.Main): objects not tracked")]
    assert check(jvm_data(tmp_path / "fine", 4242, [], counters=[("instrumentation_errors", 0),
                                                                ("dropped_objects", 0)]))[0] == 0


def test_a_sampled_run_says_so_in_the_verdict(tmp_path):
    assert check(jvm_data(tmp_path / "data", 4242, [LEAK], sample=4))[1][0] == (
        "unclosed: gate FAILED: 1 finding left zlib resources unreleased (1 JVM; sampled, about 4 x)")
    assert check(jvm_data(tmp_path / "clean", 4242, [], sample=4))[1][0] == (
        "unclosed: gate passed: no zlib resource left unreleased (1 JVM; sampled, about 4 x)")


def test_a_jvm_still_running_is_judged_on_its_leaks():
    run = {"id": 1, "pid": 4242, "main_class": "com.acme.Main", "exit_ms": None, "last_drain_ms": T0}
    site = {"run": 1, "site_id": 1, "role": "c", "kind": "java.util.zip.Deflater", "family": "zlib",
            "culprit": "com.acme.Cache.put(Cache.java:7)", "frames": [], "unknown": False, "opened": 3,
            "released": 0, "leaked": 0, "held": 3, "in_flight": 0, "bytes_leaked": 0, "bytes_held": 3 * DEFLATER}
    running = RunFindings("a.db", run, group([site]), {}, running=True)
    result = evaluate([running], ["zlib"])
    assert (result.passed, result.problems) == (True, [])
    assert result.notes == [f"JVM 4242 (com.acme.Main) is still running: judged on what it wrote until {clock(T0)}: "
                            "its leaks; objects it held are not judged"]
    assert not evaluate([RunFindings("a.db", run, group([site]), {}, running=False)], ["zlib"]).passed
    exited = dict(run, exit_ms=T0)
    assert not evaluate([RunFindings("a.db", exited, group([site]), {})], ["zlib"]).passed  # held at exit


def test_only_a_live_jvm_of_this_host_started_before_tracking_is_still_running():
    # A child, not this process: pytest may have loaded a JVM itself (JPype, for explain's tests).
    with subprocess.Popen(["sleep", "60"]) as sleeper:
        try:
            run = {"pid": sleeper.pid, "host": socket.gethostname(), "tracking_since_ms": 2 ** 42, "exit_ms": None}
            assert not still_running(run)  # alive and early enough, but not a JVM
            assert not still_running(dict(run, host="elsewhere"))
            assert not still_running(dict(run, tracking_since_ms=1000))  # started after tracking began: a later process
            assert not still_running(dict(run, pid=2 ** 22 + 1))  # no such process
        finally:
            sleeper.kill()


def test_sites_without_a_culprit_still_fail(tmp_path):
    jdk_only = ([DEFLATER_INIT, "java.util.logging.FileHandler.rotate(FileHandler.java:80)"], ["t"], 1)
    code, lines = check(jvm_data(tmp_path / "data", 4242, [jdk_only]))
    assert code == 3
    assert f"  culprit: (no frame outside the JDK: {DEFLATER_INIT})" in lines


# -- baselines ---------------------------------------------------------------------------------

def test_a_baseline_excuses_findings_by_method_not_line(tmp_path):
    old = jvm_data(tmp_path / "old", 4242, three_bugs())
    baseline = tmp_path / "baseline.json"
    made = run_cli("baseline", old, "-o", baseline)
    assert (made.returncode, made.stderr) == (0, f"wrote 3 finding(s) to {baseline}\n")
    written = json.loads(baseline.read_text())
    assert written["unclosed_baseline"] == 2 and "line numbers ignored" in written["matches_by"]
    assert written["findings"][0] == {"key": "java.util.zip.Deflater @ com.acme.PackerTest.packs",
                                      "kind": "java.util.zip.Deflater",
                                      "culprits": ["com.acme.PackerTest.packs(PackerTest.java:40)"],
                                      "leaked": 8, "held": 0, "paths": 8, "jvms": 1}
    # The library line moved down 3 lines, and a new leak appeared.
    moved = [([f.replace("Compressor.java:9", "Compressor.java:12") for f in frames], tests, n)
             for frames, tests, n in three_bugs()] + [LEAK]
    code, lines = check(jvm_data(tmp_path / "new", 4242, moved), "--baseline", baseline)
    assert code == 3
    assert lines[:3] == ["unclosed: gate FAILED: 1 finding left zlib resources unreleased (1 JVM)",
                         "  3 findings excused by the baseline (matched by kind, and the class and method of the "
                         "culprit frame (line numbers ignored))", ""]
    assert lines[4] == "  culprit: com.acme.Cache.put(Cache.java:7)"
    # A baseline of format 1 (sites, by the same key) still excuses.
    format_1 = tmp_path / "format-1.json"
    format_1.write_text(json.dumps({"unclosed_baseline": 1, "sites": [{"signature": "java.util.zip.Deflater @ com.acme.Cache.put"}]}))
    assert check(jvm_data(tmp_path / "one", 4242, [LEAK]), "--baseline", format_1)[0] == 0


def test_check_explains_bad_input_in_one_line(tmp_path):
    unclosed = str(BIN / "unclosed")
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run([unclosed, "check", str(empty)], tmp_path, dict(os.environ))
    assert result.returncode == 1 and result.stderr.count("\n") == 1 and "no data files" in result.stderr
    bad = tmp_path / "baseline.json"
    bad.write_text("{}")
    result = run([unclosed, "check", str(empty), "--baseline", str(bad)], tmp_path, dict(os.environ))
    assert result.returncode == 1 and "not an unclosed baseline" in result.stderr
    two = run([unclosed, "check", str(empty), str(empty), "--run", "1"], tmp_path, dict(os.environ))
    assert two.returncode == 2 and "--run names a run of one database" in two.stderr


# -- fleets ------------------------------------------------------------------------------------

def test_a_fleet_check_ranks_findings_seen_everywhere_first(tmp_path):
    code, lines = check(*three_hosts(tmp_path))
    assert code == 3
    assert [line for line in lines if not line.startswith("  ") and line] == [
        "unclosed: gate FAILED: 3 findings left zlib resources unreleased (3 JVMs)",
        "java.util.zip.Deflater: leaked 3 (786 KiB) of 3 opened; seen in 3 of 3 sources (3 JVMs)",
        "java.util.zip.Deflater: leaked 6 (1.5 MiB) of 6 opened; seen in 2 of 3 sources (2 JVMs)",
        "java.util.zip.Deflater: leaked 20 (5.1 MiB) of 20 opened; seen in 1 of 3 sources (1 JVM)"]
    assert [line for line in lines if line.startswith("  culprit: ")] == [
        "  culprit: com.acme.Cache.put(Cache.java:7)", "  culprit: com.acme.Pool.take(Pool.java:5)",
        "  culprit: com.acme.Codec.pack(Codec.java:30)"]


def test_read_sources_and_merge_findings_give_a_fleet_view(tmp_path):
    dbs = three_hosts(tmp_path)
    runs = read_sources(dbs)
    assert [(rf.source, rf.run["pid"]) for rf in runs] == [(str(dbs[0]), 100), (str(dbs[1]), 101), (str(dbs[2]), 102)]
    merged = merge_findings(runs)
    assert [(m.key, m.sources, m.jvms, m.total("leaked"), m.tests) for m in merged] == [
        ("java.util.zip.Deflater @ com.acme.Cache.put", 3, 3, 3, [("com.acme.CacheTest.puts", 3)]),
        ("java.util.zip.Deflater @ com.acme.Pool.take", 2, 2, 6, [("com.acme.PoolTest.takes", 6)]),
        ("java.util.zip.Deflater @ com.acme.Codec.pack", 1, 1, 20, [("com.acme.CodecTest.packs", 20)])]
