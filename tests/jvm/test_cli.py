"""The `unclosed` command against real JVMs: detach from one without the agent, and the demo."""
from __future__ import annotations

from pathlib import Path

import pytest

from helpers.cli import run_cli
from helpers.errors import one_line_error
from helpers.jvm import IDLE_PROGRAM, machine_jdks
from unclosed import Store

AGENT_JAR = Path(__file__).parents[2] / "controller/unclosed/jars/unclosed-agent.jar"


def test_detach_from_a_jvm_without_the_agent(java_program):
    program = java_program(machine_jdks()[0], IDLE_PROGRAM)
    assert one_line_error(run_cli("detach", program.pid)) == f"JVM {program.pid} runs no unclosed agent"


@pytest.mark.skipif(not AGENT_JAR.exists(), reason="the agent jar is not built (gradle -q agentJar)")
def test_the_demo_finds_the_exception_logger(tmp_path):
    result = run_cli("demo", "--seconds", "3", "--db", tmp_path / "demo.db")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    first_site = next(i for i, line in enumerate(lines) if line.startswith("java.util.zip.GZIPOutputStream (zlib): leaked"))
    assert lines[first_site + 1].startswith("  culprit: LeakyService$ExceptionLogger.log(LeakyService.java:")
    assert [line for line in lines if line.startswith("total:")][0].startswith("total: 1 finding (1 site): leaked")
    with Store(tmp_path / "demo.db") as store:
        assert [(r["label"], r["status"], r["mode"]) for r in store.runs()] == [("demo", "complete", "attach")]
