"""The suites that run real JVMs: every test here is marked `jvm` (`pytest -m "not jvm"` leaves
them out), and gets the fixtures that start Java programs."""
from __future__ import annotations

import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from helpers.jvm import JavaProgram, compile_java, env_without_java_options, jdk_id, lts_jdks, machine_jdks
from unclosed.demo_service import read_line_within

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.jvm)


# Session-scoped, so that a module's programs can be compiled once per JDK (a module-scoped
# fixture may use them); pytest then runs the tests grouped by JDK.
@pytest.fixture(scope="session", params=machine_jdks(), ids=jdk_id)
def jdk(request) -> Path:
    """Runs the test once per JDK of the machine's (see machine_jdks)."""
    return request.param


@pytest.fixture(scope="session", params=lts_jdks(), ids=jdk_id)
def lts_jdk(request) -> Path:
    """Runs the test once per LTS runtime (see lts_jdks)."""
    return request.param


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
        first = read_line_within(process.stdout, timeout)
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
