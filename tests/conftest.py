"""Shared by the tests: the JDKs they run on, and small Java programs compiled and run on them
(from a source string or a .java file, optionally as another user)."""
from __future__ import annotations

import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from jvm import can_compile, env_without_java_options, find_jdks, java_feature, javac_for

CLI = str(Path(sys.executable).parent / "unclosed")

# Prints "ready", then idles: a JVM to attach to.
IDLE_PROGRAM = """
public class Idle {
    public static void main(String[] args) throws Exception {
        System.out.println("ready");
        Thread.sleep(300_000);
    }
}
"""


def jdks() -> list[Path]:
    """The machine's own JDKs (17 and 25 here), oldest first: full JDKs, with javac and jar.
    Most suites run on these."""
    return [jdk for jdk in find_jdks() if can_compile(jdk)]


def lts_jdks() -> list[Path]:
    """Every LTS release among the runtimes (11, 17, 21, 25 here, with .ci/setup's), oldest
    first. The core end-to-end suites run on these."""
    return [jdk for jdk in find_jdks() if is_lts(java_feature(jdk))]


def is_lts(feature: int) -> bool:
    return feature == 11 or feature >= 17 and (feature - 17) % 4 == 0  # every two years since 17


def jdk_id(jdk: Path) -> str:
    return f"jdk{java_feature(jdk)}"


# Session-scoped, so that a module's programs can be compiled once per JDK (a module-scoped
# fixture may use them); pytest then runs the tests grouped by JDK.
@pytest.fixture(scope="session", params=jdks(), ids=jdk_id)
def jdk(request) -> Path:
    """Runs the test once per JDK of the machine's (see jdks)."""
    return request.param


@pytest.fixture(scope="session", params=lts_jdks(), ids=jdk_id)
def lts_jdk(request) -> Path:
    """Runs the test once per LTS runtime (see lts_jdks)."""
    return request.param


def compile_java(jdk: Path, source: str | Path, out: Path) -> str:
    """Compiles a Java source (its text, or a .java file) for `jdk` (with jvm.javac_for) into
    `out`; returns the name of its public class."""
    text = source.read_text() if isinstance(source, Path) else source
    name = re.search(r"public\s+(?:final\s+)?class\s+(\w+)", text)[1]
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.java").write_text(text)
    subprocess.run([*javac_for(jdk), "-g", "-d", str(out), str(out / f"{name}.java")],
                   check=True, capture_output=True, text=True)
    return name


class JavaProgram:
    """A running program; `pid` is the JVM's own (no wrapper process in between)."""

    def __init__(self, process: subprocess.Popen, log: Path):
        self.process, self.pid, self.log = process, process.pid, log

    def output(self) -> str:
        return self.log.read_text()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)


@pytest.fixture
def java_program():
    """Starts Java programs and kills them after the test:

        program = java_program(jdk, SOURCE, java_options=["-Xmx64m"], user="nobody")

    waits until the program prints a line starting with `ready` (on stdout; stderr goes to
    `program.log`). Its classes sit in a folder any user can read, so `user` can run them.
    """
    started: list[JavaProgram] = []
    folders: list[Path] = []

    def start(jdk: Path, source: str | Path, *, java_options=(), user: str | None = None,
              ready: str = "ready", timeout: float = 60) -> JavaProgram:
        folder = Path(tempfile.mkdtemp(prefix="unclosed-test-"))
        folder.chmod(0o755)
        folders.append(folder)
        main = compile_java(jdk, source, folder / "classes")
        command = [str(jdk / "bin" / "java"), *java_options, "-cp", str(folder / "classes"), main]
        if user:
            # setpriv execs java itself, so the pid is the JVM's (runuser would stay in between).
            gid = pwd.getpwnam(user).pw_gid
            command = ["setpriv", f"--reuid={user}", f"--regid={gid}", "--clear-groups", *command]
        log = folder / "stderr.log"
        with open(log, "w") as stderr:
            process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, text=True,
                                       cwd=folder, env=env_without_java_options())
        program = JavaProgram(process, log)
        started.append(program)
        first = _first_line(process.stdout, timeout)
        if not first.startswith(ready):
            program.stop()
            raise RuntimeError(f"{main} on {jdk.name} did not print {ready!r}: {first!r}; stderr: {program.output()}")
        return program

    yield start
    for program in started:
        program.stop()
        program.process.stdout.close()
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


def _first_line(stream, timeout: float) -> str:
    lines = []
    reader = threading.Thread(target=lambda: lines.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return lines[0] if lines else ""


def run_cli(*args, timeout: float = 120, env=None) -> subprocess.CompletedProcess:
    """Runs the installed `unclosed` command; returns its exit code and output."""
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=timeout, env=env)
