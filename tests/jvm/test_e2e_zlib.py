"""End to end on real JVMs (every LTS JDK): the agent at startup and attached,
the controller recording into SQLite, and the report naming the lines that leak."""
from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from py4j.java_gateway import GatewayParameters, JavaGateway

from helpers.jvm import RunningJvm, compile_program, env_without_java_options, jdk_id, marked_line
from unclosed import agent_jar, attach_agent

CLI = str(Path(sys.executable).parent / "unclosed")
PROGRAM = "ZlibWorkload"
DEFLATER_BYTES = 268288
INFLATER_BYTES = 39936

# (marker, kind, opened, released, leaked, held, bytes per object) for the `leaky` workload.
LEAKY_FINDINGS = [
    ("gzip_out", "java.util.zip.GZIPOutputStream", 3, 0, 3, 0, DEFLATER_BYTES),
    ("gzip_in", "java.util.zip.GZIPInputStream", 4, 0, 4, 0, INFLATER_BYTES),
    ("deflater", "java.util.zip.Deflater", 2, 0, 2, 0, DEFLATER_BYTES),
    ("caller_inflater", "java.util.zip.Inflater", 2, 0, 2, 0, INFLATER_BYTES),
    ("inflater_stream", "java.util.zip.InflaterInputStream", 1, 0, 1, 0, INFLATER_BYTES),
    ("deflater_stream", "java.util.zip.DeflaterOutputStream", 1, 0, 1, 0, DEFLATER_BYTES),
    ("held_deflater", "java.util.zip.Deflater", 5, 0, 0, 5, DEFLATER_BYTES),
    ("held_gzip_out", "java.util.zip.GZIPOutputStream", 1, 0, 0, 1, DEFLATER_BYTES),
]


@pytest.fixture(scope="module")
def classes(lts_jdk, tmp_path_factory):
    return lts_jdk, compile_program(lts_jdk, PROGRAM, tmp_path_factory.mktemp(jdk_id(lts_jdk)))


def cli(*args, check=True) -> subprocess.CompletedProcess:
    result = subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"unclosed {' '.join(map(str, args))} exited {result.returncode}: {result.stderr}")
    return result


def start(jdk, classes, mode, agent_dir) -> RunningJvm:
    options = [f"-javaagent:{agent_jar()}=dir={agent_dir}"] if mode == "startup" else []
    jvm = RunningJvm(jdk, classes, PROGRAM, java_options=options, env=env_without_java_options())
    jvm.expect("ready")
    # Attaches; an agent started with the JVM is found, its control channel waited for.
    assert attach_agent(jvm.pid, {"dir": str(agent_dir)}) == agent_dir
    return jvm


def record_and_report(jvm, db, *report_args) -> dict:
    cli("record", jvm.pid, "--db", db, "--duration", "1s", "--interval", "0.5s")
    return json.loads(cli("report", db, "--format", "json", *report_args).stdout)


def expected(findings):
    return sorted(
        (kind, opened, released, leaked, held, leaked * size, held * size,
         f"ZlibWorkload.{method_of(marker)}(ZlibWorkload.java:{marked_line(PROGRAM, marker)})")
        for marker, kind, opened, released, leaked, held, size in findings)


def method_of(marker: str) -> str:
    """The workload method whose marked line it is."""
    source = (Path(__file__).parents[1] / "programs" / f"{PROGRAM}.java").read_text().splitlines()
    line = marked_line(PROGRAM, marker)
    for text in reversed(source[:line]):
        if text.startswith("    static ") and "(" in text:
            return text.split("(")[0].split()[-1]
    raise LookupError(marker)


def observed(report, of="sites"):
    """The counts and culprit of each site (or finding) of a JSON report, sorted."""
    return sorted((s["kind"], s["opened"], s["released"], s["leaked"], s["held"], s["bytes_leaked"], s["bytes_held"],
                   s["culprit"]) for s in report[of])


@pytest.mark.parametrize("mode", ["startup", "attach"])
def test_reports_exact_counts_and_culprits(classes, mode, tmp_path):
    jdk, compiled = classes
    jvm = start(jdk, compiled, mode, tmp_path / "agent")
    try:
        jvm.send("leaky")
        report = record_and_report(jvm, tmp_path / "audit.db")
        assert observed(report) == expected(LEAKY_FINDINGS)
        assert observed(report, "findings") == expected(LEAKY_FINDINGS)  # each line leaks through one stack
        assert all(s["family"] == "zlib" and s["frames"][0].startswith("java.util.zip.") for s in report["sites"])
        assert report["runs"][-1]["mode"] == mode

        everything = json.loads(cli("report", tmp_path / "audit.db", "--format", "json", "--all").stdout)
        for item in everything["sites"] + everything["findings"]:
            assert item["opened"] == item["released"] + item["leaked"] + item["held"] + item["in_flight"], item
        # The JDK's own sites have no culprit (on 11: the Inflaters reading its compressed modules).
        round_trips = [s for s in everything["sites"] if (s["culprit"] or "").endswith(f":{marked_line(PROGRAM, 'round_trip_in')})")]
        assert [(s["kind"], s["opened"], s["released"]) for s in round_trips] == [("java.util.zip.GZIPInputStream", 6, 6)]
    finally:
        assert jvm.finish() == 0


@pytest.mark.parametrize("mode", ["startup", "attach"])
def test_a_program_that_releases_everything_reports_nothing(classes, mode, tmp_path):
    jdk, compiled = classes
    jvm = start(jdk, compiled, mode, tmp_path / "agent")
    try:
        jvm.send("clean")
        report = record_and_report(jvm, tmp_path / "audit.db")
        assert report["sites"] == []
        everything = json.loads(cli("report", tmp_path / "audit.db", "--format", "json", "--all").stdout)
        assert sum(s["opened"] for s in everything["sites"]) >= 10
        assert all(s["leaked"] == 0 and s["held"] == 0 for s in everything["sites"])
    finally:
        assert jvm.finish() == 0


def test_text_report_names_the_culprit_and_attach_time(classes, tmp_path):
    jdk, compiled = classes
    jvm = start(jdk, compiled, "attach", tmp_path / "agent")
    try:
        jvm.send("leaky")
        cli("record", jvm.pid, "--db", tmp_path / "audit.db", "--duration", "1s", "--interval", "0.5s")
        text = cli("report", tmp_path / "audit.db").stdout
        assert f"ZlibWorkload.leakGzipOutput(ZlibWorkload.java:{marked_line(PROGRAM, 'gzip_out')})" in text
        assert "java.util.zip.GZIPOutputStream" in text
        assert "attach" in text
    finally:
        jvm.finish()


def test_objects_created_before_attach_are_listed_apart_without_a_creation_line(classes, tmp_path):
    jdk, compiled = classes
    jvm = RunningJvm(jdk, compiled, PROGRAM, env=env_without_java_options())
    try:
        jvm.expect("ready")
        jvm.send("leaky")  # before the agent: found by the inventory at attach, with no stack
        attach_agent(jvm.pid, {"dir": str(tmp_path / "agent")})
        jvm.send("clean")
        report = record_and_report(jvm, tmp_path / "audit.db")
        assert report["sites"], "the inventory at attach finds what the leaky work still holds"
        assert {(s["role"], s["culprit"]) for s in report["sites"]} == {("p", None)}
        assert report["findings"] == []
    finally:
        jvm.finish()


def test_detach_restores_the_classes_and_a_new_attach_starts_a_new_run(classes, tmp_path):
    jdk, compiled = classes
    agent_dir = tmp_path / "agent"
    jvm = start(jdk, compiled, "attach", agent_dir)
    db = tmp_path / "audit.db"
    try:
        jvm.send("leaky")
        cli("record", jvm.pid, "--db", db, "--duration", "1s", "--interval", "0.5s")
        cli("detach", jvm.pid)
        jvm.send("leaky")  # not tracked: detached
        assert attach_agent(jvm.pid, {"dir": str(agent_dir)}) == agent_dir
        jvm.send("leaky")
        report = record_and_report(jvm, db)
        created = dict(report, sites=[s for s in report["sites"] if s["role"] == "c"])  # not what run 1 left alive
        assert observed(created) == expected(LEAKY_FINDINGS)
        assert len(report["runs"]) >= 1
        assert len(json.loads(cli("report", db, "--format", "json", "--run", "1").stdout)["sites"]) == len(LEAKY_FINDINGS)
    finally:
        assert jvm.finish() == 0


def test_the_control_channel_refuses_a_wrong_token(classes, tmp_path):
    jdk, compiled = classes
    jvm = start(jdk, compiled, "startup", tmp_path / "agent")
    try:
        port, token = (tmp_path / "agent" / "control").read_text().split()
        assert oct((tmp_path / "agent" / "control").stat().st_mode & 0o777) == "0o600"
        assert oct((tmp_path / "agent").stat().st_mode & 0o777) == "0o700"
        gateway = JavaGateway(gateway_parameters=GatewayParameters(
            port=int(port), auth_token="0" * len(token), address="127.0.0.1"))
        with pytest.raises(Exception):
            gateway.entry_point.version()
        gateway.close()
        with socket.create_connection(("127.0.0.1", int(port))) as s:  # loopback only
            assert s.getpeername()[0] == "127.0.0.1"
    finally:
        jvm.finish()


def test_the_jvm_exits_as_before_after_being_recorded(classes, tmp_path):
    jdk, compiled = classes
    jvm = start(jdk, compiled, "startup", tmp_path / "agent")
    jvm.send("leaky")
    cli("record", jvm.pid, "--db", tmp_path / "audit.db", "--duration", "1s", "--interval", "0.5s")
    assert jvm.finish(timeout=30) == 0  # only daemon threads: main's return ends the JVM
    assert not (tmp_path / "agent" / "control").exists()


def test_a_bad_agent_option_fails_the_attach_with_the_agents_reason(classes, tmp_path):
    jdk, compiled = classes
    jvm = RunningJvm(jdk, compiled, PROGRAM, env=env_without_java_options())
    try:
        jvm.expect("ready")
        with pytest.raises(Exception, match="unknown agent option 'bogus'"):
            attach_agent(jvm.pid, {"dir": str(tmp_path / "agent"), "bogus": "1"})
        jvm.send("clean")  # the application carries on
    finally:
        assert jvm.finish() == 0


def test_a_bad_agent_option_at_startup_leaves_the_application_running(classes, tmp_path):
    jdk, compiled = classes
    jvm = RunningJvm(jdk, compiled, PROGRAM, env=env_without_java_options(),
                     java_options=[f"-javaagent:{agent_jar()}=dir={tmp_path / 'agent'},depth=zero"])
    jvm.expect("ready")
    jvm.send("leaky")
    assert jvm.finish() == 0
    assert any("unclosed: agent not started" in line and "depth" in line for line in jvm.stderr)


def test_past_its_event_cap_the_agent_drops_events_says_so_and_keeps_counts_exact(classes, tmp_path):
    jdk, compiled = classes
    agent_dir = tmp_path / "agent"
    jvm = RunningJvm(jdk, compiled, PROGRAM, env=env_without_java_options(),
                     java_options=[f"-javaagent:{agent_jar()}=dir={agent_dir},max_events=4"])
    try:
        jvm.expect("ready")
        jvm.send("leaky")
        report = record_and_report(jvm, tmp_path / "audit.db")
        assert observed(report) == expected(LEAKY_FINDINGS)
        text = cli("report", tmp_path / "audit.db").stdout
        assert re.search(r"the agent dropped, past its caps .*: \d+ events", text), text
    finally:
        jvm.finish()


def test_sampling_tracks_a_share_of_objects_yet_finds_every_site_that_leaks_repeatedly(classes, tmp_path):
    jdk, compiled = classes
    jvm = RunningJvm(jdk, compiled, PROGRAM, env=env_without_java_options(),
                     java_options=[f"-javaagent:{agent_jar()}=dir={tmp_path / 'agent'},sample=4"])
    try:
        jvm.expect("ready")
        # The rarest finding repeats 60 times: missed with probability (3/4)^60, about 3e-8.
        jvm.send("leaky 60")
        report = record_and_report(jvm, tmp_path / "audit.db")
        assert {s["culprit"] for s in report["sites"]} == {culprit for *_, culprit in expected(LEAKY_FINDINGS)}
        assert report["runs"][-1]["sample"] == 4
        unsampled = 60 * sum(opened for _, _, opened, *_ in LEAKY_FINDINGS)
        assert unsampled / 8 < sum(s["opened"] for s in report["sites"]) < unsampled / 2
        assert "sampled, about 4 x: the agent tracked 1 object in 4" in cli("report", tmp_path / "audit.db").stdout
    finally:
        assert jvm.finish() == 0
