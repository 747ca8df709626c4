"""The demo's service: LeakyService (demo/LeakyService.java), whose exception logger never
closes its GZIPOutputStream, run with the JDK's source launcher for `unclosed demo`."""

import os
import shutil
import subprocess
import threading
from contextlib import contextmanager
from pathlib import Path

from .errors import UnclosedError

DEMO_SOURCE = Path(__file__).parent / "demo" / "LeakyService.java"
DEMO_READY_S = 60  # compiling the source takes a few seconds on a busy machine


@contextmanager
def demo_service(scratch: Path):
    """Starts LeakyService, its log in `scratch`; yields its pid and stops it on leaving."""
    java = _java()
    log = scratch / "service.log"
    with open(log, "w") as stderr:
        process = subprocess.Popen([java, str(DEMO_SOURCE)], stdout=subprocess.PIPE, stderr=stderr,
                                   text=True, start_new_session=True)  # Ctrl-C is for us, not it
        try:
            ready = read_line_within(process.stdout, DEMO_READY_S)
            if not ready.startswith("LeakyService ready"):
                process.kill()
                process.wait()
                tail = (log.read_text().strip().splitlines() or ["(no output)"])[-1]
                raise UnclosedError(f"the demo service did not start with {java}: {tail}")
            yield process.pid
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            process.stdout.close()


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if not java or not os.access(java, os.X_OK):
        raise UnclosedError("no `java` to run the demo: set JAVA_HOME to a JDK 11+ or put `java` on PATH")
    return java


def read_line_within(stream, timeout: float) -> str:
    """The first line of `stream`, or "" if none comes within `timeout` seconds."""
    lines = []
    reader = threading.Thread(target=lambda: lines.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return lines[0] if lines else ""
