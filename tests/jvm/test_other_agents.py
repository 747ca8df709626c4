"""Beside other agents (issue 12, item 4): the OpenTelemetry Java agent, before or after ours at
startup, or with ours attached to a JVM that runs it; Mockito's inline mock maker, whose spies
copy a real Inflater's native state (issue 10, item 10). Counts stay exact and the other agent
keeps working. JDK 17 only: the agents, not the JDK, are what is tested here."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers.cli import run_cli
from helpers.jvm import RunningJvm, compile_program, env_without_java_options, find_jdks, java_feature
from helpers.maven import maven_jars
from helpers.recording import culprit
from jvm.test_e2e_zlib import LEAKY_FINDINGS, expected, observed
from unclosed import agent_jar, attach_agent

JDK = next((jdk for jdk in find_jdks() if java_feature(jdk) == 17), None) or find_jdks()[0]
OTEL_VERSION = "2.33.1"
OTEL_AGENT = f"io.opentelemetry.javaagent:opentelemetry-javaagent:{OTEL_VERSION}"
OTEL_API = "io.opentelemetry:opentelemetry-api:1.67.0"  # the API of the agent's SDK (1.67.0)
MOCKITO = "org.mockito:mockito-core:5.24.0"
# No exporter: nothing leaves the machine. C1 only: the OpenTelemetry agent's start takes half the CPU.
OTEL_OPTIONS = ["-Dotel.traces.exporter=none", "-Dotel.metrics.exporter=none", "-Dotel.logs.exporter=none",
                "-XX:TieredStopAtLevel=1"]
INFLATER, DEFLATER = "java.util.zip.Inflater", "java.util.zip.Deflater"


@dataclass
class Program:
    classes: Path
    classpath: list[Path]
    agent: Path  # the other agent's jar


@pytest.fixture(scope="module")
def jars(tmp_path_factory) -> list[Path]:
    """All the libraries, fetched by one Maven run."""
    return maven_jars("other-agents", [OTEL_AGENT, OTEL_API, MOCKITO], tmp_path_factory.mktemp("other-agents"))


def named(jars: list[Path], *prefixes: str) -> list[Path]:
    return [jar for jar in jars if jar.name.startswith(prefixes)]


@pytest.fixture(scope="module")
def otel(jars, tmp_path_factory) -> Program:
    api = named(jars, "opentelemetry-api-", "opentelemetry-context-", "opentelemetry-common-")
    classes = compile_program(JDK, "ZlibWorkload", tmp_path_factory.mktemp("otel"))
    compile_program(JDK, "OtelWorkload", classes, classpath=[classes, *api])
    return Program(classes, api, named(jars, "opentelemetry-javaagent-")[0])


@pytest.fixture(scope="module")
def mockito(jars, tmp_path_factory) -> Program:
    libraries = named(jars, "mockito-core-", "byte-buddy-", "objenesis-")
    classes = compile_program(JDK, "MockitoWorkload", tmp_path_factory.mktemp("mockito"), classpath=libraries)
    return Program(classes, libraries, named(jars, "mockito-core-")[0])


def cli(*args) -> str:
    result = run_cli(*args)
    assert result.returncode == 0, f"unclosed {' '.join(map(str, args))} exited {result.returncode}: {result.stderr}"
    return result.stdout


def answer(jvm: RunningJvm, command: str, timeout: float = 60) -> str:
    """The line the program prints after `command`."""
    jvm.send(command, then=None)
    return jvm.lines.get(timeout=timeout)


# --- OpenTelemetry -------------------------------------------------------------------------------

@pytest.mark.parametrize("order", ["otel_then_unclosed", "unclosed_then_otel", "unclosed_attached"])
def test_beside_the_opentelemetry_agent_counts_are_exact_and_it_still_traces(otel, order, tmp_path):
    agent_dir = tmp_path / "agent"
    ours, theirs = f"-javaagent:{agent_jar()}=dir={agent_dir}", f"-javaagent:{otel.agent}"
    agents = {"otel_then_unclosed": [theirs, ours], "unclosed_then_otel": [ours, theirs],
              "unclosed_attached": [theirs]}[order]
    jvm = RunningJvm(JDK, otel.classes, "OtelWorkload", java_options=[*agents, *OTEL_OPTIONS],
                     env=env_without_java_options(), classpath=otel.classpath)
    try:
        jvm.expect("ready", timeout=120)
        # Attaches now, or finds the agent started with the JVM and waits for its control channel.
        assert attach_agent(jvm.pid, {"dir": str(agent_dir)}) == agent_dir
        jvm.send("leaky")
        cli("record", jvm.pid, "--db", tmp_path / "audit.db", "--duration", "1s", "--interval", "0.5s")
        # zlib: with ours first, the JDK's per-thread cache of temporary direct buffers holds one
        # (8 KiB, sun.nio.ch.Util) that reading the OpenTelemetry agent's manifest filled.
        found = json.loads(cli("report", tmp_path / "audit.db", "--format", "json", "--family", "zlib"))
        assert observed(found) == expected(LEAKY_FINDINGS)
        assert found["runs"][-1]["mode"] == ("attach" if order == "unclosed_attached" else "startup")
        # Its SDK makes the span (without it, the API alone makes an invalid, no-op one).
        assert answer(jvm, "span") == "span valid"
    finally:
        assert jvm.finish() == 0
    assert any(f"opentelemetry-javaagent - version: {OTEL_VERSION}" in line for line in jvm.stderr), jvm.stderr


# --- Mockito ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("order", ["unclosed_then_mockito", "mockito_then_unclosed"])
def test_mockito_spies_release_the_real_object_and_mocks_are_not_counted(mockito, order, tmp_path):
    """A spy shares the real Inflater's native state: ending the spy releases the one object
    there is (tracked by that state, not by identity: else the real object would leak once both
    are dropped); the real object ended releases it too; a mock has no state and is not counted.
    Mockito is loaded as its documentation says for JDK 21+ (`-javaagent:mockito-core.jar`)."""
    data = tmp_path / "data"
    ours, theirs = f"-javaagent:{agent_jar()}=data={data}", f"-javaagent:{mockito.agent}"
    agents = [ours, theirs] if order == "unclosed_then_mockito" else [theirs, ours]
    jvm = RunningJvm(JDK, mockito.classes, "MockitoWorkload", java_options=agents, env=env_without_java_options(),
                     classpath=mockito.classpath)
    try:
        jvm.expect("ready")
        assert answer(jvm, "mocks") == "done"  # Mockito's verify() calls and the program's checks passed
    finally:
        assert jvm.finish() == 0

    cli("import", data, "--db", tmp_path / "mocks.db")
    assert json.loads(cli("report", tmp_path / "mocks.db", "--format", "json"))["sites"] == []  # 0 leaked, 0 held
    everything = json.loads(cli("report", tmp_path / "mocks.db", "--format", "json", "--all"))["sites"]
    ours_only = sorted((s["kind"], s["opened"], s["released"], s["leaked"], s["held"], s["culprit"])
                       for s in everything if s["culprit"].startswith("MockitoWorkload."))
    assert ours_only == sorted([
        (INFLATER, 1, 1, 0, 0, culprit("MockitoWorkload", "spy_ended")),  # one object, not two
        (INFLATER, 1, 1, 0, 0, culprit("MockitoWorkload", "real_ended")),
        (DEFLATER, 1, 1, 0, 0, culprit("MockitoWorkload", "real_deflater")),  # the mock's line: nothing
    ])
