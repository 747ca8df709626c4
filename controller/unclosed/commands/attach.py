"""`unclosed attach`: load the agent into a running JVM."""

from pathlib import Path

import click

from ..attach import agent_dir_of, attach_agent
from ..channel import AgentChannel
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

    With --rules, a line on stderr follows for each rule that matches nothing (naming the rule
    and what of it matched no method), and for each rule whose class is not loaded yet (it is
    checked when it loads: see agent.log in the agent's directory).

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
    folder = attach_agent(pid, options or None)
    click.echo(folder)
    if rules:
        # On stderr: stdout stays the folder alone, for `dir=$(unclosed attach ...)`.
        for line in rule_lines(pid, folder):
            click.echo(line, err=True)


def rule_lines(pid: int, folder: Path) -> list[str]:
    """What the agent found of each rule as it attached: a line per rule part that matches no
    method, and per rule whose class is not loaded yet (the agent's status, `rules`)."""
    try:
        channel = AgentChannel.connect(folder, pid)
    except UnclosedError as e:  # a JVM in another network namespace: its log says the same
        return [f"unclosed: the rules were not checked here ({e}); see {folder / 'agent.log'}"]
    try:
        rules = channel.status().get("rules") or []
    finally:
        channel.close()
    lines = []
    for rule in rules:
        if not rule.get("loaded"):
            lines.append(f"rule {rule['class']}: not loaded yet, checked when it loads (see {folder / 'agent.log'})")
        for problem in rule.get("problems") or []:
            lines.append(f"rule {rule['class']}: {problem}")
    return lines
