"""`unclosed agent-path`: where the agent jar is, for build files."""

import click

from ..attach import agent_jar


@click.command("agent-path")
def agent_path():
    """Print where the agent jar is, for build files: -javaagent:$(unclosed agent-path)=...

    \b
    Example:  java -javaagent:$(unclosed agent-path)=data=build/unclosed,report=stderr -jar app.jar
    """
    click.echo(agent_jar())
