"""Shared by the end-to-end suites of direct buffers, streams and rules: a test program run with
the agent (at startup or attached), recorded by the CLI, and the culprit lines it marks."""
from __future__ import annotations

import json
from pathlib import Path

from helpers.cli import run_cli
from helpers.jvm import PROGRAMS, RunningJvm, env_without_java_options, marked_line
from unclosed import agent_jar, attach_agent

MODES = ["startup", "attach"]


def start(jdk: Path, classes: Path, program: str, mode: str, agent_dir: Path, *, classpath=(), options=None,
          ready_s: float = 60) -> RunningJvm:
    """Starts tests/programs/PROGRAM with the agent's `options` (dir is agent_dir): `mode` is
    startup, attach (once the program is ready) or none (no agent)."""
    options = {"dir": str(agent_dir), **(options or {})}
    java_options = [f"-javaagent:{agent_jar()}=" + ",".join(f"{k}={v}" for k, v in options.items())] \
        if mode == "startup" else []
    jvm = RunningJvm(jdk, classes, program, java_options=java_options, env=env_without_java_options(),
                     classpath=classpath)
    jvm.expect("ready", timeout=ready_s)
    if mode != "none":  # attaches; an agent started with the JVM is found, its control channel waited for
        assert attach_agent(jvm.pid, options) == agent_dir
    return jvm


def drain_into(channel, store, run_id: int, agent_dir: Path, interval_ms: int = 0) -> dict:
    """One drain of the agent behind `channel` into run `run_id`, as `record` takes one."""
    known = store.known(run_id)
    channel.drain("test-drain.tsv", known["sites"], known["threads"], known["tests"], interval_ms)
    return store.ingest_drain(run_id, agent_dir / "test-drain.tsv")


def cli(*args) -> str:
    result = run_cli(*args)
    assert result.returncode == 0, f"unclosed {' '.join(map(str, args))} exited {result.returncode}: {result.stderr}"
    return result.stdout


def record(jvm: RunningJvm, db: Path) -> None:
    cli("record", jvm.pid, "--db", db, "--duration", "1s", "--interval", "0.5s")


def report(db: Path, *args) -> dict:
    return json.loads(cli("report", db, "--format", "json", *args))


def culprit(program: str, marker: str) -> str:
    """`Program.method(Program.java:LINE)` for the line marked `// site:MARKER`."""
    line = marked_line(program, marker)
    source = (PROGRAMS / f"{program}.java").read_text().splitlines()
    for text in reversed(source[:line]):
        if text.startswith("    static ") and "(" in text:
            return f"{program}.{text.split('(')[0].split()[-1]}({program}.java:{line})"
    raise LookupError(marker)
