"""`unclosed attach`: load the agent into a running JVM."""

from pathlib import Path

import click

from ..attach import agent_dir_of, attach_agent
from ..errors import UnclosedError
from .options import pid_argument, sample_option


@click.command()
@pid_argument
@click.option("--dir", "agent_dir", type=click.Path(file_okay=False, path_type=Path),
              help="The agent's directory (default /tmp/unclosed-PID).")
@click.option("--rules", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A rules file naming resources of your own to track (see the README).")
@sample_option()
def attach(pid, agent_dir, rules, sample):
    """Load the agent into the running JVM PID and print its directory.

    Tracking starts now: objects created before are not known. `record` attaches by itself;
    use this to start tracking early, or with your own --rules, and `record` later.

    \b
    Examples: unclosed attach 12345
              unclosed attach 12345 --rules rules.toml
              unclosed attach 12345 --sample 128
    """
    options = {"dir": str(agent_dir)} if agent_dir else {}
    if rules:
        if agent_dir_of(pid) is not None:
            raise UnclosedError(f"JVM {pid} already runs the agent, and its rules stay as they are: "
                                f"`unclosed detach {pid}` first")
        options["rules"] = str(rules.resolve())  # the JVM reads it, from its own working directory
    if sample:
        options["sample"] = sample
    click.echo(attach_agent(pid, options or None))
