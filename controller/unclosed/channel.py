"""The control channel to a running agent: py4j on loopback, authenticated by the control file."""

import json
import logging
from pathlib import Path

from py4j.java_gateway import GatewayParameters, JavaGateway
from py4j.protocol import Py4JError, Py4JJavaError, Py4JNetworkError

from .errors import UnclosedError

# py4j logs every failed connection itself; the errors raised here already say it in one line.
logging.getLogger("py4j").addHandler(logging.NullHandler())
logging.getLogger("py4j").propagate = False


class AgentChannel:
    """Calls into the agent's `AgentControl` (docs/protocol.md, "Control")."""

    def __init__(self, gateway: JavaGateway, agent_dir: Path):
        self._gateway = gateway
        self.agent_dir = agent_dir
        self.pid = None  # known after the first status()

    @classmethod
    def connect(cls, agent_dir) -> "AgentChannel":
        agent_dir = Path(agent_dir)
        control = agent_dir / "control"
        try:
            port, token = control.read_text().split()
            port = int(port)
        except FileNotFoundError:
            raise UnclosedError(f"no agent is running with directory {agent_dir} ({control} is missing)") from None
        except PermissionError:
            raise UnclosedError(f"cannot read {control}: run as the user of the JVM") from None
        except ValueError:
            raise UnclosedError(f"{control} is not `<port> <token>`") from None
        params = GatewayParameters(address="127.0.0.1", port=port, auth_token=token, eager_load=True)
        try:
            gateway = JavaGateway(gateway_parameters=params)
        except Py4JError as e:
            raise UnclosedError(f"the agent of {agent_dir} does not answer on port {port}: {_first_line(e)}") from None
        channel = cls(gateway, agent_dir)
        channel.status()
        return channel

    def version(self) -> str:
        return str(self._call("version"))

    def status(self) -> dict:
        status = json.loads(self._call("status"))
        self.pid = status.get("pid", self.pid)
        return status

    def drain(self, path) -> dict:
        """Has the agent write everything new since the last drain to `path`; returns its summary."""
        return json.loads(self._call("drain", str(Path(path).absolute())))

    def buffer_pools(self) -> dict | None:
        """The JVM's BufferPoolMXBeans (direct, mapped): {name: {count, used, capacity}}, read in
        the target through the agent's gateway (no JMX connector is started); None when they
        cannot be read."""
        try:
            jvm = self._gateway.jvm
            bean_class = jvm.java.lang.Class.forName("java.lang.management.BufferPoolMXBean")
            return {str(b.getName()): {"count": int(b.getCount()), "used": int(b.getMemoryUsed()),
                                       "capacity": int(b.getTotalCapacity())}
                    for b in jvm.java.lang.management.ManagementFactory.getPlatformMXBeans(bean_class)}
        except Exception:  # py4j errors of all kinds: the figure is optional
            return None

    def detach(self) -> dict:
        """Removes the agent's instrumentation; the channel closes as the agent stops answering."""
        try:
            return json.loads(self._call("detach"))
        finally:
            self.close()

    def close(self) -> None:
        self._gateway.close()

    def _call(self, method: str, *args):
        try:
            return getattr(self._gateway.entry_point, method)(*args)
        except Py4JJavaError as e:
            raise UnclosedError(f"the agent in JVM {self._who()} failed to {method}: "
                                f"{e.java_exception.toString()}") from None
        except Py4JNetworkError:
            raise UnclosedError(f"the agent in JVM {self._who()} stopped answering (did the JVM exit?)") from None
        except Py4JError as e:
            raise UnclosedError(f"the agent in JVM {self._who()} failed to {method}: {_first_line(e)}") from None

    def _who(self) -> str:
        return str(self.pid) if self.pid is not None else f"of {self.agent_dir}"


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
