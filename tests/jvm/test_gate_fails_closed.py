"""The gate on a real JVM whose data has no end yet (issue 10, item 1): `check` on its data folder
while it runs judges what it wrote; once it is killed, what it did after is unknown and the gate
fails, unless --allow-incomplete. JDK 17 (the rule is the controller's)."""
from __future__ import annotations

import time

import pytest

from helpers.cli import run_cli
from helpers.jvm import RunningJvm, compile_program, env_without_java_options, find_jdks, java_feature, marked_line
from unclosed import agent_jar

JDK = next((jdk for jdk in find_jdks() if java_feature(jdk) == 17), None)
GZIP_OUT = f"ZlibWorkload.leakGzipOutput(ZlibWorkload.java:{marked_line('ZlibWorkload', 'gzip_out')})"


@pytest.mark.skipif(JDK is None, reason="needs JDK 17")
def test_a_running_jvm_is_judged_on_what_it_wrote_and_a_killed_one_fails(tmp_path):
    classes = compile_program(JDK, "ZlibWorkload", tmp_path / "classes")
    data = tmp_path / "data"
    jvm = RunningJvm(JDK, classes, "ZlibWorkload", java_options=[f"-javaagent:{agent_jar()}=data={data},flush=1"],
                     env=env_without_java_options())
    try:
        jvm.expect("ready")
        jvm.send("leaky")  # 6 lines leak, 2 hold (not judged while it runs)
        time.sleep(2.5)  # the agent writes its data every second
        running = run_cli("check", data)
        assert running.returncode == 3, running.stderr
        lines = running.stdout.splitlines()
        assert lines[0] == "unclosed: gate FAILED: 6 findings left zlib resources unreleased (1 JVM)"
        assert lines[1].startswith(f"  JVM {jvm.pid} (ZlibWorkload) is still running: judged on what it wrote until ")
        assert f"  culprit: {GZIP_OUT}" in lines
        assert not any("did not exit normally" in line for line in lines)
    finally:
        jvm.kill()
    killed = run_cli("check", data)
    assert killed.returncode == 3
    lines = killed.stdout.splitlines()
    assert lines[0] == "unclosed: gate FAILED: 6 findings left zlib resources unreleased, 1 problem with the data (1 JVM)"
    assert lines[1].startswith(f"  JVM {jvm.pid} (ZlibWorkload) did not exit normally: its data ends at ")
    allowed = run_cli("check", data, "--allow-incomplete")
    assert allowed.stdout.splitlines()[0] == "unclosed: gate FAILED: 6 findings left zlib resources unreleased (1 JVM)"
