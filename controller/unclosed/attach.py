"""Load the agent into a running JVM, and find it there: the JVM's attach protocol (hotspot.py),
spoken from here without a JVM of our own, for JVMs on this host and in containers (other PID and
mount namespaces) alike.

A JVM in a container sees its own /tmp and its own pid: the agent's folder is reached through
/proc/PID/root, and the agent jar, when the JVM cannot see ours, is copied into the JVM's /tmp.
"""

import hashlib
import os
import pwd
import re
import stat
import time
from pathlib import Path

from . import hotspot
from .agent_folder import AgentFolder, NotAnAgentFolder
from .errors import AttachError

AGENT_JAR_ENV = "UNCLOSED_AGENT_JAR"
BUNDLED_JAR = Path(__file__).parent / "jars" / "unclosed-agent.jar"
CONTROL_WAIT_S = 10.0
# System properties the agent sets in its JVM: its folder while it runs; why it did not start.
DIR_PROPERTY = "unclosed.dir"
ERROR_PROPERTY = "unclosed.error"
METRICS_PROPERTY = "unclosed.metrics"  # HOST:PORT where it serves /metrics (metrics=)


def agent_jar() -> Path:
    """The agent jar: $UNCLOSED_AGENT_JAR, else the one built into the package."""
    env = os.environ.get(AGENT_JAR_ENV)
    jar = Path(env) if env else BUNDLED_JAR
    if not jar.is_file():
        if env:
            raise AttachError(f"{AGENT_JAR_ENV}={env} is not a file")
        raise AttachError(f"the agent jar is missing ({jar}): build it with `gradle -q agentJar`")
    return jar.resolve()


def attach_agent(pid: int, options: dict | None = None) -> Path:
    """Make sure JVM `pid` runs the agent; returns the agent's folder as reachable from here.

    `options` are agent options (docs/protocol.md), e.g. {"depth": 16, "sample": 128}. Without
    `dir`, the agent picks its folder (its /tmp/unclosed-PID, or a fresh private one when that
    name is taken by a folder it cannot trust). When the agent is already loaded, its folder is
    returned and `options` are not applied.
    """
    pid = int(pid)
    check_target(pid)
    sweep_dead_agent_folders()
    pairs = {k: str(v) for k, v in (options or {}).items()}
    loaded = agent_dir_of(pid)
    if loaded is not None:
        _wait_for_control(pid, loaded)  # an agent started with the JVM starts its channel meanwhile
        return loaded
    for key, value in pairs.items():
        if "," in value:
            raise AttachError(f"agent option {key}={value!r} may not contain ','")
    jar = _jar_seen_by(pid)
    try:
        hotspot.load_agent(pid, jar, ",".join(f"{k}={v}" for k, v in pairs.items()))
    except hotspot.AgentLoadError as e:
        raise AttachError(_load_failure(pid, jar, e)) from None
    agent_dir = agent_dir_of(pid)
    if agent_dir is None:
        raise AttachError(f"the agent loaded into JVM {pid} but did not say where its folder is")
    if pairs.get("control", "true") != "false" and "data" not in pairs:  # else it starts no control channel
        _wait_for_control(pid, agent_dir)
    return agent_dir


# The names of the agents' default folders (unclosed-PID, or unclosed-PID-RANDOM when that name
# was taken), and the files an agent leaves in one.
_AGENT_FOLDER = re.compile(r"unclosed-(\d+)(?:-[0-9a-f]+)?")
_DATA_FILES = ("exit.tsv", "drain-*.tsv")


def sweep_dead_agent_folders(tmp: Path = Path("/tmp")) -> list[Path]:
    """Removes the folders agents of JVMs now gone left in `tmp` (a JVM killed hard cannot
    remove its own), unless they hold data a recorder has not taken in yet (a recording that
    died takes it in later). Never follows a link; returns what it removed."""
    removed = []
    for folder in tmp.glob("unclosed-*"):
        match = _AGENT_FOLDER.fullmatch(folder.name)
        if not match or process_alive(int(match[1])):
            continue
        try:
            with AgentFolder(folder) as agent_folder:
                if not any(agent_folder.names(pattern) for pattern in _DATA_FILES) and agent_folder.remove():
                    removed.append(folder)
        except NotAnAgentFolder:
            continue
    return removed


def agent_dir_of(pid: int) -> Path | None:
    """The folder of the agent running in JVM `pid`, as reachable from here; None when it runs none."""
    jvm_dir = _properties(int(pid)).get(DIR_PROPERTY)
    return None if jvm_dir is None else seen_from_here(int(pid), jvm_dir)


def metrics_address_of(pid: int) -> str | None:
    """HOST:PORT where the agent in JVM `pid` serves /metrics; None when it serves none."""
    return _properties(int(pid)).get(METRICS_PROPERTY)


def seen_from_here(pid: int, path: str) -> Path:
    """A path as process `pid` sees it, reached from this process: through /proc/PID/root when
    the process has mounts of its own (a container's mount namespace: its own /tmp, say), though
    its root may be ours."""
    return Path(path) if hotspot.same_namespace(pid, "mnt") else Path(f"/proc/{pid}/root") / path.lstrip("/")


def process_alive(pid: int) -> bool:
    """Whether process `pid` still runs (a zombie, exited but not yet waited for, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def check_target(pid: int) -> str:
    """Turns the common mistakes into clear errors at once. Returns the name of the user the
    process runs as."""
    if pid <= 0:
        raise AttachError(f"{pid} is not a process id")
    proc = Path(f"/proc/{pid}")
    try:
        uid = proc.stat().st_uid
        owner = _user_name(uid)
        if os.geteuid() not in (0, uid):
            # HotSpot answers only its own user (and root).
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
        raise AttachError(f"process {pid} ({command}) is not a Java VM")
    return owner


def _properties(pid: int) -> dict[str, str]:
    try:
        return hotspot.properties(pid)
    except hotspot.AttachDisabled:
        raise AttachError(
            f"JVM {pid} does not allow attaching (started with -XX:+DisableAttachMechanism?): "
            f"start it with -javaagent:{BUNDLED_JAR.name} instead") from None


def _jar_seen_by(pid: int) -> str:
    """The agent jar's path as JVM `pid` sees it: ours, or, for a JVM with mounts of its own, a
    copy in its /tmp named by the jar's content, made exclusively (never through a planted link)."""
    jar = agent_jar()
    if hotspot.same_namespace(pid, "mnt"):
        return str(jar)
    data = jar.read_bytes()
    name = f"unclosed-agent-{hashlib.sha256(data).hexdigest()[:16]}.jar"
    copy = Path(f"/proc/{pid}/root/tmp") / name
    try:
        fd = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except FileExistsError:
        if _trusted_copy(copy, data):
            return f"/tmp/{name}"
        raise AttachError(f"{copy} exists and is not a copy of the agent jar this unclosed made: remove it") from None
    except OSError as e:
        raise AttachError(f"cannot copy the agent jar into JVM {pid}'s /tmp ({copy}): {e.strerror}") from None
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(copy, 0o644, follow_symlinks=False)
    return f"/tmp/{name}"


def _trusted_copy(path: Path, data: bytes) -> bool:
    """A copy left by an earlier attach: a plain file of ours (root's or this user's) that
    nobody else may write, with the jar's content."""
    try:
        st = os.lstat(path)
        if not (stat.S_ISREG(st.st_mode) and st.st_uid in (0, os.geteuid()) and not st.st_mode & 0o022):
            return False
        return path.read_bytes() == data
    except OSError:
        return False


def _load_failure(pid: int, jar: str, error: hotspot.AgentLoadError) -> str:
    """What to tell when the agent did not start: the agent's own reason, which it leaves in a
    system property (the attach protocol carries only a code), or what the code means."""
    if error.status == 102:
        reason = _properties(pid).get(ERROR_PROPERTY)
        if reason:
            return f"the agent failed to start in JVM {pid}: {reason}"
        return f"the agent failed to start in JVM {pid}: see the JVM's standard error"
    if error.status == 100:
        owner = _user_name(Path(f"/proc/{pid}").stat().st_uid)
        return (f"JVM {pid} could not load the agent jar {jar} (Agent JAR not found or no Agent-Class attribute): "
                f"can user {owner} read it?")
    return str(error)


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _wait_for_control(pid: int, agent_dir: Path) -> None:
    """The agent starts its control channel after tracking is on: wait for its control file."""
    control = agent_dir / "control"
    deadline = time.monotonic() + CONTROL_WAIT_S
    while not control.exists():
        if not process_alive(pid):
            raise AttachError(f"JVM {pid} exited while the agent was starting")
        if time.monotonic() > deadline:
            raise AttachError(f"the agent in JVM {pid} has no control channel after {CONTROL_WAIT_S:.0f} s "
                              f"(started with data= or control=false?): {_last_log_line(agent_dir)}")
        time.sleep(0.02)


def _last_log_line(agent_dir: Path) -> str:
    try:
        lines = (agent_dir / "agent.log").read_text(errors="replace").strip().splitlines()
    except OSError:
        lines = []
    # Lines are "<epoch ms> <message>": the time adds nothing here.
    return lines[-1].partition(" ")[2] if lines else "see the JVM's standard error"
