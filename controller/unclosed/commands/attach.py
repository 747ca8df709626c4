"""`unclosed attach`: load the agent into a running JVM."""

from pathlib import Path

import click

from ..attach import agent_dir_of, attach_agent, metrics_address_of
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
@click.option("--metrics", metavar="[HOST:]PORT",
              help="Serve the counts for Prometheus at http://HOST:PORT/metrics (HOST 127.0.0.1 unless given; "
                   "port 0: any free one); the address is printed on stderr.")
def attach(pid, agent_dir, rules, sample, metrics):
    """Load the agent into the running JVM PID and print its directory.

    Tracking starts now: what is alive of the tracked kinds is counted at once, without
    creation stacks (reported as existing before tracking). `record` attaches by itself; use
    this to start tracking early, with your own --rules, or to serve --metrics, and `record`
    later. Its options apply only to an agent it loads: with the agent already running, giving
    one is an error.

    With --rules, a line on stderr follows for each rule that matches nothing (naming the rule
    and what of it matched no method), and for each rule whose class is not loaded yet (it is
    checked when it loads: see agent.log in the agent's directory).

    \b
    Examples: unclosed attach 12345
              unclosed attach 12345 --rules rules.toml
              unclosed attach 12345 --sample 128 --metrics 9464
    """
    options = {"dir": str(agent_dir)} if agent_dir else {}
    if rules:
        options["rules"] = str(rules.resolve())  # the JVM reads it, from its own working directory
    if sample:
        options["sample"] = sample
    if metrics is not None:
        options["metrics"] = metrics
    if options and agent_dir_of(pid) is not None:
        given = ", ".join(f"--{name}" for name in options)
        raise UnclosedError(f"JVM {pid} already runs the agent, and its options stay as they are ({given} "
                            f"not applied): `unclosed detach {pid}` first")
    folder = attach_agent(pid, options or None)
    click.echo(folder)
    if metrics is not None:
        click.echo(f"metrics: http://{metrics_address_of(pid)}/metrics", err=True)
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
