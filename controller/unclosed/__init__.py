"""unclosed: find native resources (zlib Inflater/Deflater, GZIP streams) a JVM never released.

The library in brief: `attach_agent(pid)` loads the agent and returns its directory,
`AgentChannel.connect(dir)` talks to it, `Store(path)` keeps drains in SQLite, and
`write_report(store, out)` says what leaked. Every error a user can act on is an `UnclosedError`.
"""

from .attach import agent_jar, attach_agent
from .channel import AgentChannel
from .errors import UnclosedError
from .store import Store
from .writers import write_report

__all__ = ["attach_agent", "AgentChannel", "Store", "write_report", "UnclosedError", "agent_jar"]
