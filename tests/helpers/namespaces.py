"""JVMs as in a container, without a container runtime: `unshare` gives the JVM its own PID and
mount namespaces (it is pid 1 there), a private tmpfs on /tmp (the host reaches it as
/proc/HOSTPID/root/tmp), and, when asked, its own network namespace with only its loopback up.
It shares the rest of the host's file system: its classes must sit outside /tmp (see
`shared_folder`)."""
from __future__ import annotations

import os
import pwd
import queue
import shlex
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from helpers.jvm import RunningJvm, env_without_java_options

# Seen by the host and by every namespaced JVM alike (unlike /tmp, which each one has its own of).
SHARED_ROOT = Path("/var/tmp")


def namespaces_unavailable() -> str | None:
    """Why namespaced JVMs cannot be started here, or None when they can."""
    if os.geteuid() != 0:
        return "only root can make PID and mount namespaces here"
    for tool in ("unshare", "nsenter", "setpriv", "ip"):
        if shutil.which(tool) is None:
            return f"{tool} is missing (util-linux, iproute2)"
    return None


def shared_folder(prefix: str) -> Path:
    """A fresh folder that the host and namespaced JVMs see at the same path, readable by all."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=SHARED_ROOT))
    folder.chmod(0o755)
    return folder


class NamespacedJvm(RunningJvm):
    """A program run as in a container: `pid` is the JVM's host pid (the child of `unshare`),
    which sees itself as pid 1. Driven through stdin/stdout as RunningJvm is; `user` runs it as
    that user inside; `network` gives it a network namespace of its own (loopback up)."""

    def __init__(self, jdk: Path, classes: Path, main: str, *, java_options=(), classpath=(), user: str | None = None,
                 network: bool = False, cwd: Path | None = None):
        java = [str(jdk / "bin" / "java"), *java_options, "-cp", os.pathsep.join(map(str, [classes, *classpath])), main]
        if user:
            gid = pwd.getpwnam(user).pw_gid
            java = ["setpriv", f"--reuid={user}", f"--regid={gid}", "--clear-groups", *java]
        steps = ["mount -t tmpfs tmpfs /tmp"]
        if network:
            steps.append("ip link set lo up")
        script = " && ".join([*steps, f"exec {shlex.join(java)}"])
        flags = ["--pid", "--mount", "--fork", "--mount-proc", "--kill-child"] + (["--net"] if network else [])
        self.process = subprocess.Popen(["unshare", *flags, "sh", "-c", script], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        env=env_without_java_options(), cwd=cwd or classes)
        self.lines: queue.Queue[str] = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=self._read, args=(self.process.stdout, self.lines.put), daemon=True).start()
        threading.Thread(target=self._read, args=(self.process.stderr, self.stderr.append), daemon=True).start()
        self.pid = self._jvm_pid()

    def _jvm_pid(self, timeout: float = 10) -> int:
        """unshare forks the namespace's pid 1 (sh, which then execs java): its only child."""
        deadline = time.monotonic() + timeout
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        while time.monotonic() < deadline:
            try:
                kids = children.read_text().split()
                if kids and os.readlink(f"/proc/{kids[0]}/exe").endswith("/java"):
                    return int(kids[0])
            except OSError:
                pass
            if self.process.poll() is not None:
                raise RuntimeError(f"the namespaced JVM did not start: {''.join(self.stderr)[-500:]}")
            time.sleep(0.01)
        raise TimeoutError(f"unshare ({self.process.pid}) started no java within {timeout} s")

    def ns_pid(self) -> int:
        """The pid the JVM sees itself as (the last NSpid of /proc/PID/status)."""
        status = Path(f"/proc/{self.pid}/status").read_text()
        return int(status.split("NSpid:")[1].split("\n")[0].split()[-1])

    def root(self) -> Path:
        """The JVM's file system (its private /tmp included), as the host reaches it."""
        return Path(f"/proc/{self.pid}/root")

    def inside(self, *command, user: str | None = None, net_only: bool = False, timeout: float = 120,
               env=None) -> subprocess.CompletedProcess:
        """Runs `command` in the JVM's namespaces (its PID and mount namespaces, and network
        namespace when it has one; only the network one with `net_only`), as `user` if given."""
        command = [str(c) for c in command]
        if user:
            gid = pwd.getpwnam(user).pw_gid
            command = ["setpriv", f"--reuid={user}", f"--regid={gid}", "--clear-groups", *command]
        spaces = ["--net"] if net_only else ["--pid", "--mount", "--net"]
        return subprocess.run(["nsenter", "--target", str(self.pid), *spaces, *command], capture_output=True,
                              text=True, timeout=timeout, env=env if env is not None else env_without_java_options())
