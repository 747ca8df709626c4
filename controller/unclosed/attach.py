"""Load the agent into a running JVM through the Attach API (reached from Python with JPype)."""

import os
import pwd
import re
import time
from pathlib import Path

from .errors import AttachError

AGENT_JAR_ENV = "UNCLOSED_AGENT_JAR"
BUNDLED_JAR = Path(__file__).parent / "jars" / "unclosed-agent.jar"
CONTROL_WAIT_S = 10.0


def agent_jar() -> Path:
    """The agent jar: $UNCLOSED_AGENT_JAR, else the one built into the package."""
    env = os.environ.get(AGENT_JAR_ENV)
    jar = Path(env) if env else BUNDLED_JAR
    if not jar.is_file():
        if env:
            raise AttachError(f"{AGENT_JAR_ENV}={env} is not a file")
        raise AttachError(f"the agent jar is missing ({jar}): build it with `gradle -q agentJar`")
    return jar.resolve()


def default_agent_dir(pid: int) -> Path:
    return Path(f"/tmp/unclosed-{pid}")


def attach_agent(pid: int, options: dict | None = None) -> Path:
    """Make sure JVM `pid` runs the agent and return the agent's directory.

    `options` are agent options (docs/protocol.md), e.g. {"dir": "/tmp/d", "depth": 16}. When the
    agent is already loaded, its directory is returned and `options` are not applied.
    """
    pid = int(pid)
    owner = check_target(pid)
    vm = _attach(pid, owner)
    try:
        loaded_dir = vm.getSystemProperties().getProperty("unclosed.dir")
        if loaded_dir is not None:
            return Path(str(loaded_dir))
        options = dict(options or {})
        agent_dir = Path(options.pop("dir", None) or default_agent_dir(pid)).absolute()
        # An earlier agent (in a JVM that had this pid, or detached) may have left these.
        stale_control = _read_text(agent_dir / "control")
        log = _AgentLog(agent_dir / "agent.log")
        _load(vm, agent_jar(), agent_dir, options, pid, owner, log)
    finally:
        vm.detach()
    if options.get("control", "true") != "false" and "data" not in options:  # else it writes none
        _wait_for_control(agent_dir / "control", stale_control, pid, log)
    return agent_dir


def agent_dir_of(pid: int) -> Path | None:
    """The directory of the agent running in JVM `pid`, or None when it runs none."""
    pid = int(pid)
    vm = _attach(pid, check_target(pid))
    try:
        loaded_dir = vm.getSystemProperties().getProperty("unclosed.dir")
    finally:
        vm.detach()
    return None if loaded_dir is None else Path(str(loaded_dir))


def process_alive(pid: int) -> bool:
    """Whether process `pid` still runs (a zombie, exited but not yet waited for, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def check_target(pid: int) -> str:
    """Turn the common mistakes into clear errors before the Attach API spends 10 s on them.
    Returns the name of the user the process runs as."""
    if pid <= 0:
        raise AttachError(f"{pid} is not a process id")
    proc = Path(f"/proc/{pid}")
    try:
        uid = proc.stat().st_uid
        owner = _user_name(uid)
        if os.geteuid() not in (0, uid):
            # HotSpot answers only its own user (and root). The Attach API would say
            # "Operation not permitted" or "well-known file /tmp/.java_pidN is not secure".
            raise AttachError(
                f"process {pid} runs as user {owner}: attaching needs that user, "
                f"e.g. `sudo -u {owner} unclosed ...`")
        maps = (proc / "maps").read_text()
        command = (proc / "comm").read_text().strip()
    except FileNotFoundError:
        raise AttachError(f"no process with pid {pid}") from None
    except OSError as e:
        raise AttachError(f"cannot inspect process {pid}: {e.strerror}") from None
    if "/libjvm.so" not in maps:
        # The Attach API would wait 10 s, then say "Unable to open socket file".
        raise AttachError(f"process {pid} ({command}) is not a Java VM")
    return owner


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _attach_api():
    """The VirtualMachine class from the controller's own JVM, started once per process."""
    import jpype

    if not jpype.isJVMStarted():
        try:
            jvm = jpype.getDefaultJVMPath()  # $JAVA_HOME first, then the `java` on the system
            # Quiet: no JDK 24+ warning about JPype's native library; unknown to older JDKs.
            jpype.startJVM(jvm, "--enable-native-access=ALL-UNNAMED",
                           ignoreUnrecognized=True, interrupt=False)
        except (jpype.JVMNotFoundException, jpype.JVMNotSupportedException, OSError) as e:
            raise AttachError(f"cannot start a JVM for the Attach API ({e}): set JAVA_HOME to a JDK") from None
    try:
        return jpype.JClass("com.sun.tools.attach.VirtualMachine")
    except TypeError:
        raise AttachError(
            f"the JVM at {jpype.getDefaultJVMPath()} has no Attach API: set JAVA_HOME to a JDK 9+") from None


def _attach(pid: int, owner: str):
    import jpype

    VirtualMachine = _attach_api()
    try:
        try:
            return VirtualMachine.attach(str(pid))
        except jpype.JException as e:
            # A JVM still starting its attach listener refuses the first connection (seen once
            # in a few hundred attaches, to a JVM of another user): one more try, a moment later.
            if "Connection refused" not in str(e.getMessage()):
                raise
            time.sleep(0.5)
            return VirtualMachine.attach(str(pid))
    except jpype.JException as e:
        message = str(e.getMessage())
        if "does not support the attach mechanism" in message:
            raise AttachError(
                f"JVM {pid} does not allow attaching (started with -XX:+DisableAttachMechanism?): "
                f"start it with -javaagent:{BUNDLED_JAR.name} instead") from None
        if "No such process" in message:
            raise AttachError(f"no process with pid {pid}") from None
        if "Unable to open socket file" in message:
            raise AttachError(
                f"JVM {pid} did not answer the attach request (attach disabled, or its /tmp "
                f"is not this one, as in another container)") from None
        raise AttachError(f"cannot attach to JVM {pid} (user {owner}): {message}") from None


def _load(vm, jar: Path, agent_dir: Path, options: dict, pid: int, owner: str, log: "_AgentLog") -> None:
    import jpype

    AgentLoadException = jpype.JClass("com.sun.tools.attach.AgentLoadException")
    AgentInitializationException = jpype.JClass("com.sun.tools.attach.AgentInitializationException")
    pairs = {"dir": str(agent_dir), **{k: str(v) for k, v in options.items()}}
    for key, value in pairs.items():
        if "," in value:
            raise AttachError(f"agent option {key}={value!r} may not contain ','")
    try:
        vm.loadAgent(str(jar), ",".join(f"{k}={v}" for k, v in pairs.items()))
    except AgentInitializationException:
        raise AttachError(
            f"the agent failed to start in JVM {pid}: {log.last_new_line()}") from None
    except AgentLoadException as e:
        raise AttachError(
            f"JVM {pid} could not load the agent jar {jar} ({e.getMessage()}): "
            f"can user {owner} read it?") from None


class _AgentLog:
    """The agent's log, to quote what it wrote after a point (the target's reason for failing)."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self.start = path.stat().st_size
        except OSError:
            self.start = 0

    def last_new_line(self) -> str:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.start)
                lines = f.read().decode("utf-8", "replace").strip().splitlines()
        except OSError:
            lines = []
        # Lines are "<epoch ms> <message>": the time adds nothing here.
        return re.sub(r"^\d{10,} ", "", lines[-1]) if lines else "see the JVM's standard error"


def _wait_for_control(control: Path, stale: str | None, pid: int, log: _AgentLog) -> None:
    deadline = time.monotonic() + CONTROL_WAIT_S
    while time.monotonic() < deadline:
        text = _read_text(control)
        if text and text != stale and len(text.split()) == 2:
            return
        if not process_alive(pid):
            raise AttachError(f"JVM {pid} exited while the agent was starting")
        time.sleep(0.05)
    raise AttachError(
        f"the agent in JVM {pid} did not write {control} within {CONTROL_WAIT_S:.0f} s: "
        f"{log.last_new_line()}")


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text()
    except (FileNotFoundError, NotADirectoryError):
        return None
