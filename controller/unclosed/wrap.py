"""`unclosed run`: any command, with the agent in every JVM it starts."""

import os
import shlex
import subprocess

from .attach import agent_jar
from .errors import UnclosedError

TOOL_OPTIONS = "JAVA_TOOL_OPTIONS"


def agent_environment(data_dir, options: dict | None = None, env=None) -> dict:
    """The environment for the command: the agent (with `options`, docs/protocol.md) added to
    JAVA_TOOL_OPTIONS, which every JVM reads, after whatever the user already had there."""
    env = dict(os.environ if env is None else env)
    extra = "".join(f",{key}={value}" for key, value in (options or {}).items())
    agent = f"-javaagent:{agent_jar()}=data={data_dir}{extra}"
    if any(c.isspace() for c in agent):
        # JAVA_TOOL_OPTIONS splits on white space; quotes keep the path whole.
        agent = shlex.quote(agent)
    env[TOOL_OPTIONS] = f"{env[TOOL_OPTIONS]} {agent}" if env.get(TOOL_OPTIONS) else agent
    return env


def run_command(command: list[str], data_dir, options: dict | None = None) -> int:
    """Runs the command to its end with the agent in its JVMs; returns its exit code."""
    try:
        process = subprocess.Popen(command, env=agent_environment(data_dir, options))
    except OSError as e:
        raise UnclosedError(f"cannot run {command[0]}: {e.strerror}") from None
    while True:
        try:
            return process.wait()
        except KeyboardInterrupt:
            # Ctrl-C reached the command too; let it finish exiting, then gather its data.
            continue
