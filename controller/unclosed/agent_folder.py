"""An agent's folder as the controller reads and removes it. The JVM's user may replace the
folder's path with a link to any folder at any moment (a JVM is not trusted by the root that
records it), so the folder is opened once, without following a link, checked to be what an
agent makes (a real folder, its user's alone), and then used only through that descriptor:
files opened relative to it without following links, entries removed relative to it."""
from __future__ import annotations

import errno
import os
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .errors import UnclosedError

_OPEN_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_OPEN_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC  # NONBLOCK: a planted FIFO does not hang us


class NotAnAgentFolder(UnclosedError):
    """The path is not a folder an agent made: a link, another user's, open to others."""


class AgentFolder:
    """An agent's folder, held open (see the module): its files by name, and its removal."""

    def __init__(self, path: Path, uid: int | None = None):
        """Opens the folder at `path`; `uid`: the JVM's user, who must own it (None: any user)."""
        self.path = Path(path)
        try:
            self.fd = os.open(self.path, _OPEN_FOLDER)
        except OSError as e:
            raise NotAnAgentFolder(f"{self.path}: {_why(e)}") from None
        info = os.fstat(self.fd)
        problem = (f"belongs to uid {info.st_uid}, not to the JVM's user (uid {uid})"
                   if uid is not None and info.st_uid != uid else
                   f"may be used by other users (mode {stat.filemode(info.st_mode)})" if info.st_mode & 0o077 else None)
        if problem:
            os.close(self.fd)
            raise NotAnAgentFolder(f"{self.path} is not an agent's folder: it {problem}")
        self.uid = info.st_uid
        self._identity = (info.st_dev, info.st_ino)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> "AgentFolder":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def reachable(self) -> Path:
        """The folder as a path that stays this folder (a JVM in a container keeps it in its own
        /tmp, gone with its mount namespace when it exits)."""
        return Path(f"/proc/self/fd/{self.fd}")

    def names(self, pattern: str = "*") -> list[str]:
        return [name for name in os.listdir(self.fd) if Path(name).match(pattern)]

    def has(self, name: str) -> bool:
        return name in os.listdir(self.fd)

    @contextmanager
    def file(self, name: str) -> Iterator[Path | None]:
        """The file `name` of the folder as a path to read, or None when there is none; refused
        (NotAnAgentFolder) when it is not a file of the folder's user (a link, a FIFO, ...)."""
        try:
            fd = os.open(name, _OPEN_FILE, dir_fd=self.fd)
        except FileNotFoundError:
            yield None
            return
        except OSError as e:
            raise NotAnAgentFolder(f"{self.path / name}: {_why(e)}") from None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_uid != self.uid:
                raise NotAnAgentFolder(f"{self.path / name} is not a file the agent wrote")
            yield Path(f"/proc/self/fd/{fd}")
        finally:
            os.close(fd)

    def unlink(self, name: str) -> None:
        try:
            os.unlink(name, dir_fd=self.fd)
        except FileNotFoundError:
            pass

    def remove(self) -> bool:
        """Removes the folder's files (a link is removed, never followed) and the folder itself,
        while its path still names it. False when something stays (a folder in it: not an
        agent's; or it is gone already)."""
        try:
            names = os.listdir(self.fd)
            if any(stat.S_ISDIR(os.stat(name, dir_fd=self.fd, follow_symlinks=False).st_mode) for name in names):
                return False
            for name in names:
                os.unlink(name, dir_fd=self.fd)
            parent = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                now = os.stat(self.path.name, dir_fd=parent, follow_symlinks=False)
                if (now.st_dev, now.st_ino) != self._identity:
                    return False
                os.rmdir(self.path.name, dir_fd=parent)  # an empty folder only, whatever came meanwhile
            finally:
                os.close(parent)
            return True
        except OSError:
            return False


def _why(error: OSError) -> str:
    if error.errno == errno.ELOOP:  # O_NOFOLLOW met a link
        return "is a symbolic link"
    if error.errno == errno.ENOTDIR:
        return "is not a folder"
    return error.strerror or str(error)
