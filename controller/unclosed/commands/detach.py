"""`unclosed detach`: remove the agent from a JVM."""

import click

from ..attach import agent_dir_of
from ..channel import AgentChannel
from ..errors import UnclosedError
from .options import pid_argument


@click.command()
@pid_argument
def detach(pid):
    """Remove the agent from JVM PID: its classes are restored and tracking stops.

    \b
    Example:  unclosed detach 12345
    """
    agent_dir = agent_dir_of(pid)
    if agent_dir is None:
        raise UnclosedError(f"JVM {pid} runs no unclosed agent")
    AgentChannel.connect(agent_dir, pid).detach()
    click.echo(f"detached from JVM {pid}")
