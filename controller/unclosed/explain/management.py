"""The JVM's buffer pools (BufferPoolMXBean: direct, mapped) without unclosed's agent: through the
JDK's own local management agent, the JMX connector `jcmd PID ManagementAgent.start_local`
starts on the JVM's loopback (what jconsole connects to). Its address is in the JVM's agent
properties. Read-only: getAttribute calls only.

A JMX client needs a JVM: JPype starts one in this process the first time the pools are read
this way (never for a JVM running unclosed's agent, which reads them itself), and keeps it for
the process's life (JPype cannot start a second)."""

import os
from contextlib import contextmanager

from .. import hotspot
from ..errors import UnclosedError, first_line
from .jcmd import run_jcmd

LOCAL_CONNECTOR_ADDRESS = "com.sun.management.jmxremote.localConnectorAddress"
POOLS = ("direct", "mapped")
ATTRIBUTES = (("count", "Count"), ("used", "MemoryUsed"), ("capacity", "TotalCapacity"))
# A short-lived client: C1 alone and the serial GC connect in 0.15 s instead of 0.5 s; -Xrs leaves
# Ctrl-C to Python (--watch ends on it); a JVM that stops answering fails a call after 30 s.
CLIENT_JVM_OPTIONS = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xrs",
                      "-Dsun.rmi.transport.tcp.responseTimeout=30000")
# Options meant for the user's JVMs, not for this client (a -javaagent there would load into it).
USER_JVM_OPTIONS = ("JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS")


class PoolsUnavailable(UnclosedError):
    """The pools cannot be read through the JDK's management agent; the message says why."""


def read_buffer_pools(pid: int) -> tuple[dict, bool]:
    """({name: {"count", "used", "capacity"}} of the direct and mapped pools, started): read
    through JVM `pid`'s local management agent, which is started when it runs none (started is
    then True: it stays until the JVM exits). Raises PoolsUnavailable, or an AttachError."""
    if not hotspot.same_namespace(pid, "net"):
        raise PoolsUnavailable(
            f"JVM {pid} is in another network namespace (a container's): the JDK's management agent would "
            f"listen on that namespace's loopback, out of reach from here, so it was not started; "
            f"`nsenter --target {pid} --net unclosed explain {pid}` reaches it")
    address = _local_address(pid)
    started = address is None
    if started:
        ok, failure = run_jcmd(pid, "ManagementAgent.start_local")
        if not ok:
            raise PoolsUnavailable(failure)
        address = _local_address(pid)
        if address is None:
            raise PoolsUnavailable(f"JVM {pid} started its management agent but gives no {LOCAL_CONNECTOR_ADDRESS}")
    return _read_pools(address), started


def _local_address(pid: int) -> str | None:
    return hotspot.agent_properties(pid).get(LOCAL_CONNECTOR_ADDRESS)


def _read_pools(address: str) -> dict:
    jpype = _client()
    object_name = jpype.JClass("javax.management.ObjectName")
    url = jpype.JClass("javax.management.remote.JMXServiceURL")(address)
    try:
        connector = jpype.JClass("javax.management.remote.JMXConnectorFactory").connect(url)
    except jpype.JException as e:
        raise PoolsUnavailable(f"cannot connect to the JDK's management agent at {address[:40]}...: "
                               f"{first_line(e)}") from None
    try:
        server = connector.getMBeanServerConnection()
        return {pool: {key: int(server.getAttribute(object_name(f"java.nio:type=BufferPool,name={pool}"), attribute))
                       for key, attribute in ATTRIBUTES}
                for pool in POOLS}
    except jpype.JException as e:
        raise PoolsUnavailable(f"the JDK's management agent did not give the buffer pools: {first_line(e)}") from None
    finally:
        connector.close()


def _client():
    """JPype, with its JVM started (imported here: only reading the pools this way needs it)."""
    import jpype
    if not jpype.isJVMStarted():
        try:
            with _environment_without(USER_JVM_OPTIONS):
                jpype.startJVM(*CLIENT_JVM_OPTIONS, interrupt=False)
        except (OSError, ValueError, RuntimeError) as e:  # no JVM found, or it did not start
            raise PoolsUnavailable(f"no JVM here for a JMX client (JPype): {first_line(e)}") from None
    return jpype


@contextmanager
def _environment_without(names):
    saved = {name: os.environ.pop(name) for name in names if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)

