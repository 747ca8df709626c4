"""The control channel to a running agent: py4j on loopback, authenticated by the control file."""

import json
import logging
import os
import stat
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
    def connect(cls, agent_dir, pid: int | None = None) -> "AgentChannel":
        """Connects to the agent whose folder is `agent_dir`, in JVM `pid` when known."""
        agent_dir = Path(agent_dir)
        if pid is not None and None not in (_network_of(pid), _network_of("self")) and _network_of(pid) != _network_of("self"):
            raise UnclosedError(
                f"JVM {pid} is in another network namespace (a container's): its agent listens on that "
                f"namespace's loopback; run unclosed there: `nsenter --target {pid} --net unclosed ...`")
        port, token = _read_control(agent_dir / "control")
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

    def drain(self, name: str, sites_known: int, threads_known: int, tests_known: int, interval_ms: int) -> dict:
        """Has the agent write what this reader lacks to the file `name` in its folder (it knows the
        first `sites_known` sites, threads and tests); objects younger than `interval_ms` count as
        in flight. Returns the agent's summary (seq, the counts known after it, ...)."""
        return json.loads(self._call("drain", name, sites_known, threads_known, tests_known, interval_ms))

    def begin_reading(self, interval_ms: int) -> None:
        """Tells the agent a recording begins: if the JVM exits before its next drain, the agent
        leaves it all it would have drained (its exit data)."""
        self._call("beginReading", interval_ms)

    def finish_reading(self) -> None:
        """Tells the agent this reader has stopped: at the JVM's exit it leaves no data for it."""
        self._call("finishReading")

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


def _read_control(control: Path) -> tuple[int, str]:
    """`<port> <token>` from the agent's control file: a plain file (never through a link) that
    only its owner may read and write, as the agent makes it (the token runs code in the JVM)."""
    try:
        fd = os.open(control, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        raise UnclosedError(f"no agent is running with directory {control.parent} ({control} is missing)") from None
    except PermissionError:
        raise UnclosedError(f"cannot read {control}: run as the user of the JVM") from None
    except OSError as e:
        raise UnclosedError(f"cannot read {control}: {e.strerror}") from None
    with os.fdopen(fd) as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode) or st.st_mode & 0o077:
            raise UnclosedError(f"{control} is not the agent's private control file (mode {st.st_mode & 0o777:o}): refused")
        try:
            port, token = f.read().split()
            return int(port), token
        except ValueError:
            raise UnclosedError(f"{control} is not `<port> <token>`") from None


def _network_of(pid) -> tuple[int, int] | None:
    try:
        st = os.stat(f"/proc/{pid}/ns/net")
        return st.st_dev, st.st_ino
    except OSError:
        return None  # not ours to look into: assume one network


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
