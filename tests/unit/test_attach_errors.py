"""attach_agent's failures that are told before any JVM is reached: no such process, one that is
not a JVM, no agent jar (against real JVMs: tests/jvm/test_attach_errors.py)."""
from __future__ import annotations

import subprocess
import time

import pytest

from helpers.errors import attach_error
from unclosed import agent_jar
from unclosed.errors import AttachError


def test_no_such_process():
    gone = subprocess.Popen(["true"])
    gone.wait()
    assert attach_error(gone.pid) == f"no process with pid {gone.pid}"
    assert attach_error(0) == "0 is not a process id"


def test_a_process_that_is_not_a_jvm_is_told_at_once():
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        started = time.monotonic()
        assert attach_error(sleeper.pid) == f"process {sleeper.pid} (sleep) is not a Java VM"
        assert time.monotonic() - started < 2  # the Attach API itself would wait 10 s
    finally:
        sleeper.kill()
        sleeper.wait()


def test_the_agent_jar_must_exist(monkeypatch, tmp_path):
    monkeypatch.setenv("UNCLOSED_AGENT_JAR", str(tmp_path / "missing.jar"))
    with pytest.raises(AttachError, match=r"^UNCLOSED_AGENT_JAR=.*missing.jar is not a file$"):
        agent_jar()
    monkeypatch.delenv("UNCLOSED_AGENT_JAR")
    monkeypatch.setattr("unclosed.attach.BUNDLED_JAR", tmp_path / "jars" / "unclosed-agent.jar")
    with pytest.raises(AttachError, match=r"the agent jar is missing \(.*\): build it with `gradle -q agentJar`$"):
        agent_jar()
