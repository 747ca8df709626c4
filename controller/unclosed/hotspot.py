"""Talk to a running HotSpot JVM through its dynamic attach protocol, without a JVM here: the
attach layer's transport (attach.py loads the agent with it; explain runs diagnostic commands).

What jattach and the JDK's own Attach API (sun.tools.attach.VirtualMachineImpl) speak, on Linux
(tried on JDK 11, 17, 21 and 25; JDK 8 from its source). Reaches JVMs in other PID and mount
namespaces (containers) by their host pid. Standard library only.

The protocol, as HotSpot implements it (attachListener_linux.cpp, later attachListener_posix.cpp):
- Once its attach listener runs, the JVM listens on the unix socket `/tmp/.java_pid<pid>`: its
  own /tmp (HotSpot hard-codes it), its own pid (the last NSpid entry, 1 in a container).
- The listener starts on demand: on SIGQUIT, if `.attach_pid<pid>` exists in the JVM's working
  directory or its /tmp and is owned by the JVM's effective uid (JDK 11+: or by root).
  Otherwise SIGQUIT prints a thread dump, so never send it to a JVM that cannot attach.
- It serves a peer whose effective uid and gid (SO_PEERCRED, seen from the JVM's user namespace)
  both equal its own (JDK 11+: or whose uid is 0); anyone else is silently disconnected.
- One command per connection: "1\\0<cmd>\\0<arg1>\\0<arg2>\\0<arg3>\\0" (3 args, each at most
  1024 bytes, command at most 16); the reply is "<status>\\n<output>", then the JVM closes.

Credentials: when we are root and the JVM is not, the trigger file is created and the socket
connected with our effective uid/gid switched to the JVM's (as jattach does), so JDK 8 and
user-namespaced containers accept us too. glibc applies seteuid to every thread of the process,
so these short windows assume no other thread of ours relies on being root meanwhile.
"""

from __future__ import annotations

import errno
import glob
import os
import pwd
import signal
import socket
import stat
import struct
import time
from contextlib import contextmanager
from dataclasses import dataclass

from .errors import AttachError


ATTACH_TIMEOUT = 10.0   # seconds for the handshake (the JDK's default attach timeout too)
COMMAND_TIMEOUT = 60.0  # seconds for a whole command; `load` runs the agent's agentmain

_NAME_MAX = 16          # AttachOperation::name_length_max
_ARG_MAX = 1024         # AttachOperation::arg_length_max (protocol version 1)
_SUN_PATH_MAX = 107     # sizeof(sockaddr_un.sun_path) - 1


class NoSuchProcess(AttachError):
    pass


class NotJava(AttachError):
    pass


class AttachDisabled(AttachError):
    pass


class AttachPermission(AttachError):
    pass


class AttachTimeout(AttachError):
    pass


class CommandFailed(AttachError):
    """The JVM answered with a non-zero status (or, for `load`, the agent did not start)."""

    def __init__(self, message: str, status: int, output: str = ""):
        super().__init__(message)
        self.status = status
        self.output = output


class AgentLoadError(CommandFailed):
    """`load` ran, but the agent did not start; `status` is Agent_OnAttach's return code."""


# JPLIS (the `instrument` library) return codes, as HotSpotVirtualMachine.loadAgent reads them.
_JPLIS_ERRORS = {
    -4: "the JVM ran out of memory",
    100: "agent jar not found, unreadable by the JVM's user, or without an Agent-Class attribute",
    101: "the agent jar could not be added to the system class path",
    102: "the agent's agentmain threw (its stack trace is on the JVM's standard error)",
}


# ----------------------------------------------------------------------------- the target process

@dataclass(frozen=True)
class _Target:
    pid: int        # host pid (ours)
    nspid: int      # the pid the JVM sees
    uid: int        # effective uid and gid, as our namespace sees them
    gid: int
    state: str      # R, S, T, Z, ...
    name: str
    quit_caught: bool  # SIGQUIT handled (HotSpot installs its handler early in startup)


def _status(pid: int) -> dict[str, str]:
    try:
        with open(f"/proc/{pid}/status") as f:
            return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
    except (FileNotFoundError, ProcessLookupError):
        raise NoSuchProcess(f"no process with pid {pid}") from None


def _target(pid: int) -> _Target:
    if pid <= 0:
        raise NoSuchProcess(f"{pid} is not a process id")
    st = _status(pid)
    if int(st.get("Tgid", pid)) != pid:  # a thread id: use its process
        return _target(int(st["Tgid"]))
    ns = (st.get("NSpid") or st.get("NStgid") or str(pid)).split()
    quit_bit = 1 << (signal.SIGQUIT - 1)
    caught = int(st.get("SigCgt", "0"), 16) & quit_bit and not int(st.get("SigIgn", "0"), 16) & quit_bit
    target = _Target(pid=pid, nspid=int(ns[-1]), uid=int(st["Uid"].split()[1]),
                     gid=int(st["Gid"].split()[1]), state=st.get("State", "?")[:1],
                     name=st.get("Name", "?"), quit_caught=bool(caught))
    if target.state in "ZX":
        raise NoSuchProcess(f"process {pid} has exited")
    return target


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def ns_pid(pid: int) -> int:
    """The pid JVM `pid` (a host pid) sees itself as: the last NSpid entry of /proc/PID/status."""
    return _target(pid).nspid


def effective_uid(pid: int) -> int:
    """The effective uid process `pid` runs as, as this process's namespace sees it."""
    return _target(pid).uid


def tmp_dir(pid: int) -> str:
    """The JVM's /tmp as reachable from here: through /proc/PID/root, so containers work too."""
    path = f"/proc/{pid}/root/tmp"
    try:
        os.stat(path)
        return path
    except FileNotFoundError:
        raise NoSuchProcess(f"no process with pid {pid}") from None
    except OSError:
        return "/tmp"  # /proc/PID/root refused (not our user's): only a shared /tmp can work


def _check(target: _Target, deadline: float) -> None:
    """Fail early and clearly on what would otherwise end in a timeout or a silent disconnect."""
    pid = target.pid
    euid, egid = os.geteuid(), os.getegid()
    if euid != 0 and (euid != target.uid or egid != target.gid):
        who = _user(target.uid) if euid != target.uid else f"{_user(target.uid)} with group {target.gid}"
        raise AttachPermission(
            f"process {pid} ({target.name}) runs as {who}; attach as that user or as root")
    delay = 0.005
    while True:
        libs = _mapped_libraries(pid)
        if "libjvm.so" in libs:
            break
        # The java launcher loads libjvm.so a few ms after its exec: wait for it.
        if not ("libjli.so" in libs or _exe_name(pid) == "java") or time.monotonic() >= deadline:
            raise NotJava(f"process {pid} ({target.name}) is not a Java VM (no libjvm.so)")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.1)
    if _attach_supported(target) is False:
        raise AttachDisabled(
            f"JVM {pid} does not allow attaching (started with -XX:+DisableAttachMechanism)")


def _exe_name(pid: int) -> str:
    try:
        return os.path.basename(os.readlink(f"/proc/{pid}/exe"))
    except OSError:
        return ""


def _mapped_libraries(pid: int) -> set[str]:
    try:
        with open(f"/proc/{pid}/maps") as f:
            return {line.rsplit("/", 1)[-1].rstrip("\n") for line in f if ".so" in line}
    except (FileNotFoundError, ProcessLookupError):
        raise NoSuchProcess(f"no process with pid {pid}") from None
    except PermissionError:
        raise AttachPermission(f"cannot inspect process {pid}: permission denied") from None


def _attach_supported(target: _Target) -> bool | None:
    """What the JVM says in its hsperfdata file (sun.rt.jvmCapabilities, first flag), as the
    JDK's tools check it; None when unknown (-XX:-UsePerfData, unreadable)."""
    root = f"/proc/{target.pid}/root"
    for path in glob.glob(f"{root}/tmp/hsperfdata_*/{target.nspid}"):
        try:
            if os.stat(path).st_uid != target.uid:
                continue
            with open(path, "rb") as f:
                data = f.read(1 << 20)
            caps = _perf_string(data, b"sun.rt.jvmCapabilities")
        except (OSError, struct.error, ValueError):
            continue
        if caps:
            return caps[:1] == "1"
    try:
        with open(f"/proc/{target.pid}/cmdline", "rb") as f:
            if b"-XX:+DisableAttachMechanism" in f.read().split(b"\0"):
                return False
    except OSError:
        pass
    return None


def _perf_string(data: bytes, name: bytes) -> str | None:
    """A string entry of a HotSpot perf data file (perfMemory.hpp: PerfDataPrologue, PerfDataEntry)."""
    if data[:4] != b"\xca\xfe\xc0\xc0":
        return None
    order = "<" if data[4] == 1 else ">"
    entry_offset, num_entries = struct.unpack_from(order + "ii", data, 24)
    pos = entry_offset
    for _ in range(num_entries):
        length, name_off, vlen = struct.unpack_from(order + "iii", data, pos)
        data_off, = struct.unpack_from(order + "i", data, pos + 16)
        if length <= 0:
            break
        start = pos + name_off
        if data[start:data.index(b"\0", start)] == name:
            value = data[pos + data_off:pos + data_off + vlen]
            return value.split(b"\0", 1)[0].decode("ascii", "replace")
        pos += length
    return None


@contextmanager
def _as_target(target: _Target):
    """Run the block with our effective gid/uid switched to the JVM's, when we are root."""
    euid, egid = os.geteuid(), os.getegid()
    if euid != 0 or (target.uid == euid and target.gid == egid):
        yield
        return
    os.setegid(target.gid)
    try:
        os.seteuid(target.uid)
        try:
            yield
        finally:
            os.seteuid(euid)
    finally:
        os.setegid(egid)


# ----------------------------------------------------------------------------- the handshake

def _is_socket(path: str) -> bool:
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError:
        return False


def _alive(target: _Target) -> bool:
    try:
        return _target(target.pid).state != "Z"
    except NoSuchProcess:
        return False


def _create_trigger(target: _Target, tmp: str) -> str:
    """Create .attach_pid<nspid> in the JVM's /tmp, else in its working directory; return its path.

    HotSpot looks in its working directory first, then /tmp; the JDK and jattach write to the
    working directory first. Not here: while a JVM starts, it briefly chdirs into
    /tmp/hsperfdata_<user> and deletes from there every file not named like a pid, our trigger
    included (seen on JDK 17 in about 1 of 10 attaches right after the JVM's start).
    Created as the JVM's user, and checked: some file systems (NFS) change the owner, and the
    JVM ignores a trigger it does not own."""
    name = f".attach_pid{target.nspid}"
    errors = []
    with _as_target(target):
        for path in (f"{tmp}/{name}", f"/proc/{target.pid}/cwd/{name}"):
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o660)
                try:
                    owner = os.fstat(fd).st_uid
                finally:
                    os.close(fd)
            except OSError as e:
                errors.append(f"{path}: {e.strerror}")
                continue
            if owner == target.uid:
                return path
            errors.append(f"{path}: owned by uid {owner}")
            _unlink(path)
    raise AttachPermission(
        f"cannot create the attach trigger for JVM {target.pid} ({'; '.join(errors)})")


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _start_listener(target: _Target, sock_path: str, tmp: str, deadline: float) -> None:
    """Make the JVM open its attach socket: trigger file, SIGQUIT, wait for the socket."""
    pid = target.pid
    # A JVM still starting has no SIGQUIT handler yet, and SIGQUIT would kill it: wait for one.
    delay = 0.005
    while not target.quit_caught:
        if time.monotonic() >= deadline:
            raise AttachTimeout(
                f"JVM {pid} does not handle SIGQUIT yet (still starting, or -Xrs): "
                f"cannot start its attach listener")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.1)
        target = _target(pid)

    trigger = _create_trigger(target, tmp)
    try:
        os.kill(pid, signal.SIGQUIT)  # the host pid: we signal from our namespace
        start = time.monotonic()
        resent = False
        delay = 0.002
        while not _is_socket(sock_path):
            now = time.monotonic()
            if now >= deadline:
                if _target(pid).state in "tT":
                    why = "the process is stopped: SIGSTOP or a debugger"
                elif tmp == "/tmp":
                    why = f"/proc/{pid}/root is not reachable, and the JVM's /tmp may not be ours"
                else:
                    why = "attach disabled with -XX:+DisableAttachMechanism, or the JVM is hung"

                raise AttachTimeout(
                    f"JVM {pid} did not open its attach socket within {now - start:.1f} s ({why})")
            if not _alive(target):
                raise NoSuchProcess(f"process {pid} exited while attaching")
            if not resent and now - start > (deadline - start) / 2:
                os.kill(pid, signal.SIGQUIT)  # once more, as the JDK does, in case one was lost
                resent = True
            time.sleep(min(delay, max(0.0, deadline - now)))
            delay = min(delay * 1.5, 0.2)
    except ProcessLookupError:
        raise NoSuchProcess(f"process {pid} exited while attaching") from None
    finally:
        _unlink(trigger)


class _Refused(Exception):
    """The socket file is there but nobody listens on it (ECONNREFUSED), or it just vanished."""


def _connect(target: _Target, sock_path: str, deadline: float) -> socket.socket:
    pid = target.pid
    try:
        st = os.stat(sock_path)
    except FileNotFoundError:
        raise _Refused() from None
    # The JDK refuses a socket not owned by the JVM's user ("well-known file is not secure"):
    # anyone can create files in a shared /tmp.
    if st.st_uid != target.uid:
        if _older_than_process(st, pid):
            raise AttachPermission(
                f"{sock_path}, left by an earlier process of uid {st.st_uid}, blocks attaching "
                f"to JVM {pid}: remove it")
        raise AttachPermission(
            f"{sock_path} is owned by uid {st.st_uid}, not by JVM {pid}'s user (uid {target.uid})")
    address = sock_path
    dir_fd = None
    if len(os.fsencode(address)) > _SUN_PATH_MAX:  # too long for sockaddr_un: go through an fd
        dir_fd = os.open(os.path.dirname(sock_path), os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        address = f"/proc/self/fd/{dir_fd}/{os.path.basename(sock_path)}"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.settimeout(max(0.001, deadline - time.monotonic()))
        with _as_target(target):  # SO_PEERCRED records these credentials
            s.connect(address)
        return s
    except OSError as e:
        s.close()
        if isinstance(e, TimeoutError):
            raise AttachTimeout(f"JVM {pid} did not accept the connection in time") from None
        if e.errno in (errno.EACCES, errno.EPERM):
            raise AttachPermission(f"cannot connect to {sock_path}: {e.strerror}") from None
        if e.errno in (errno.ECONNREFUSED, errno.ENOENT):
            raise _Refused() from None
        raise AttachError(f"cannot connect to JVM {pid}: {e.strerror}") from None
    finally:
        if dir_fd is not None:
            os.close(dir_fd)


def _older_than_process(st: os.stat_result, pid: int) -> bool:
    """Whether a file was last changed before process `pid` started (so is not its own)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/stat") as f:
            boot = next(int(line.split()[1]) for line in f if line.startswith("btime "))
    except (OSError, StopIteration, ValueError, IndexError):
        return False
    return st.st_mtime < boot + start_ticks / os.sysconf("SC_CLK_TCK") - 1.0  # btime is whole seconds


def attach(pid: int, timeout: float = ATTACH_TIMEOUT) -> socket.socket:
    """A socket connected to JVM `pid`'s attach listener, ready for one command.

    Starts the listener when needed (trigger file + SIGQUIT). Raises an AttachError subclass.
    """
    deadline = time.monotonic() + timeout
    target = _target(int(pid))
    _check(target, deadline)
    tmp = tmp_dir(target.pid)
    sock_path = f"{tmp}/.java_pid{target.nspid}"
    delay = 0.01
    while True:
        if not _is_socket(sock_path):
            _start_listener(target, sock_path, tmp, deadline)
        try:
            return _connect(target, sock_path, deadline)
        except _Refused:
            pass
        # Nobody listens: a socket left by an earlier process with this pid (a container's JVM
        # is always pid 1), which a starting JVM removes itself, or a listener restarting.
        if not _alive(target):
            raise NoSuchProcess(f"process {target.pid} exited while attaching")
        try:
            if _older_than_process(os.stat(sock_path), target.pid):
                with _as_target(target):
                    _unlink(sock_path)  # stale for sure: start this JVM's own listener
                continue
        except FileNotFoundError:
            continue
        if time.monotonic() + delay >= deadline:
            raise AttachError(f"JVM {target.pid} refused the connection on {sock_path} "
                              f"(its attach listener is restarting or gone)")
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


# ----------------------------------------------------------------------------- commands

def _request(command: str, args: tuple[str, ...]) -> bytes:
    if len(args) > 3:
        raise ValueError(f"at most 3 arguments, got {len(args)}")
    cmd = command.encode()
    if not cmd or len(cmd) > _NAME_MAX or b"\0" in cmd:
        raise ValueError(f"bad attach command {command!r}")
    parts = [b"1", cmd]
    for arg in args + ("",) * (3 - len(args)):
        raw = str(arg).encode()
        if len(raw) > _ARG_MAX or b"\0" in raw:
            raise ValueError(f"attach argument too long (max {_ARG_MAX} bytes) or has NUL: {arg!r:.60}")
        parts.append(raw)
    return b"\0".join(parts) + b"\0"


def _execute(pid: int, command: str, args: tuple[str, ...], timeout: float) -> tuple[int, str]:
    request = _request(command, args)
    deadline = time.monotonic() + timeout
    s = attach(pid, timeout)
    with s:
        chunks = []
        try:
            s.settimeout(max(0.001, deadline - time.monotonic()))
            s.sendall(request)
            while True:
                s.settimeout(max(0.001, deadline - time.monotonic()))
                chunk = s.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except TimeoutError:
            raise AttachTimeout(f"JVM {pid} did not finish `{command}` within {timeout:.0f} s") from None
        except (BrokenPipeError, ConnectionResetError):
            pass  # it hung up: judged by what it said, below
    reply = b"".join(chunks)
    head, _, body = reply.partition(b"\n")
    if not head:
        # HotSpot drops a peer whose credentials it rejects, and a request it cannot parse.
        t = _target(pid)
        uid, gid = (t.uid, t.gid) if os.geteuid() == 0 else (os.geteuid(), os.getegid())
        raise AttachPermission(
            f"JVM {pid} closed the connection without answering `{command}` "
            f"(it refused our uid/gid {uid}/{gid}, or the request)")
    try:
        status = int(head)
    except ValueError:
        raise AttachError(f"JVM {pid} answered `{command}` with {head[:40]!r}, not a status") from None
    return status, body.decode("utf-8", "replace")


def execute(pid: int, command: str, *args: str, timeout: float = COMMAND_TIMEOUT) -> str:
    """Run attach command `command` (load, properties, agentProperties, jcmd, threaddump, ...)
    with up to 3 arguments in JVM `pid`; return its output. A non-zero status raises
    CommandFailed carrying the JVM's message."""
    status, output = _execute(int(pid), command, args, timeout)
    if status != 0:
        message = " ".join(output.split()) or "no message"
        if status == 101 and not output.strip():
            message = "protocol mismatch"
        raise CommandFailed(f"JVM {pid} failed `{command}` (status {status}): {message}", status, output)
    return output


def load_agent(pid: int, jar: str, options: str | None = None,
               timeout: float = COMMAND_TIMEOUT) -> None:
    """Load Java agent `jar` (a path as the JVM sees it) into JVM `pid`, calling its agentmain
    with `options`; returns when agentmain has returned. Raises AgentLoadError when it fails."""
    arg = jar if options is None else f"{jar}={options}"
    output = execute(pid, "load", "instrument", "false", arg, timeout=timeout)
    text = output.strip()
    # JDK 9+: "return code: N"; JDK 8: "N"; JDK 21+ may instead give only a message (the
    # library could not load: status 0 all the same).
    code_text = text.removeprefix("return code: ").split("\n", 1)[0].strip()
    try:
        code = int(code_text)
    except ValueError:
        raise AgentLoadError(
            f"JVM {pid} could not load the agent: {' '.join(text.split()) or 'no answer'}", -1, output
        ) from None
    if code != 0:
        reason = _JPLIS_ERRORS.get(code, f"agent returned {code}")
        raise AgentLoadError(f"agent {jar} did not start in JVM {pid}: {reason} (code {code})", code, output)


def properties(pid: int, timeout: float = COMMAND_TIMEOUT) -> dict[str, str]:
    """JVM `pid`'s system properties (like `jcmd PID VM.system_properties`), nothing loaded."""
    return _parse_properties(execute(pid, "properties", timeout=timeout))


def agent_properties(pid: int, timeout: float = COMMAND_TIMEOUT) -> dict[str, str]:
    """JVM `pid`'s agent properties (the JDK's management agent says where it listens there)."""
    return _parse_properties(execute(pid, "agentProperties", timeout=timeout))


def same_namespace(pid: int, kind: str) -> bool:
    """Whether process `pid` shares this process's namespace of `kind` (mnt, net, pid): a JVM in a
    container does not. True when it cannot be told (not ours to look into)."""
    try:
        theirs, ours = os.stat(f"/proc/{pid}/ns/{kind}"), os.stat(f"/proc/self/ns/{kind}")
    except OSError:
        return True
    return (theirs.st_dev, theirs.st_ino) == (ours.st_dev, ours.st_ino)


def jcmd(pid: int, command_line: str, timeout: float = COMMAND_TIMEOUT) -> str:
    """Run a diagnostic command (e.g. "VM.version", "Thread.print -l") and return its output."""
    return execute(pid, "jcmd", command_line, timeout=timeout)


def _parse_properties(text: str) -> dict[str, str]:
    """java.util.Properties.store() text: `key=value` lines, `#` comments, backslash escapes."""
    result: dict[str, str] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].lstrip()
        i += 1
        if not line or line[0] in "#!":
            continue
        while _continues(line) and i < len(lines):  # a trailing odd backslash joins lines
            line = line[:-1] + lines[i].lstrip()
            i += 1
        key, value = _split_property(line)
        result[_unescape(key)] = _unescape(value)
    return result


def _continues(line: str) -> bool:
    return (len(line) - len(line.rstrip("\\"))) % 2 == 1


def _split_property(line: str) -> tuple[str, str]:
    """Split at the first unescaped '=', ':' or blank, as Properties.load does."""
    i = 0
    while i < len(line) and line[i] not in "=: \t\f":
        i += 2 if line[i] == "\\" else 1
    key, rest = line[:i], line[i:].lstrip(" \t\f")
    if rest[:1] in ("=", ":"):
        rest = rest[1:].lstrip(" \t\f")
    return key, rest


def _unescape(s: str) -> str:
    if "\\" not in s:
        return s
    out = []
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            n = s[i + 1]
            if n == "u":
                try:
                    out.append(chr(int(s[i + 2:i + 6], 16)))
                    i += 6
                    continue
                except ValueError:
                    pass  # malformed: keep the 'u'
            out.append({"t": "\t", "n": "\n", "r": "\r", "f": "\f"}.get(n, n))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)
