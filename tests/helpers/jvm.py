"""Real JVMs for the tests: every JDK on the machine, compiling the programs under
tests/programs (or a source string), and driving a running program through its stdin and stdout."""
from __future__ import annotations

import os
import queue
import re
import subprocess
import threading
import time
from pathlib import Path

PROGRAMS = Path(__file__).parents[1] / "programs"
JVM_ROOT = Path("/usr/lib/jvm")

# Prints "ready", then idles: a JVM to attach to.
IDLE_PROGRAM = """
public class Idle {
    public static void main(String[] args) throws Exception {
        System.out.println("ready");
        Thread.sleep(300_000);
    }
}
"""


def find_jdks() -> list[Path]:
    """Each JDK under /usr/lib/jvm once (Debian adds aliases), oldest first."""
    seen, jdks = set(), []
    for home in sorted(JVM_ROOT.iterdir()) if JVM_ROOT.is_dir() else []:
        real = home.resolve()
        if real in seen or not (real / "bin" / "javac").exists():
            continue
        seen.add(real)
        jdks.append(real)
    return sorted(jdks, key=java_feature)


def jdk_id(jdk: Path) -> str:
    return f"jdk{java_feature(jdk)}"


def java_feature(jdk: Path) -> int:
    """The feature release (17, 25) from the JDK's release file."""
    text = (jdk / "release").read_text() if (jdk / "release").exists() else ""
    match = re.search(r'JAVA_VERSION="(\d+)(?:\.(\d+))?', text)
    if not match:
        return 0
    major = int(match.group(1))
    return int(match.group(2)) if major == 1 else major


def compile_java(jdk: Path, source: str | Path, out: Path) -> str:
    """Compiles a Java source (its text, or a .java file) with `jdk` into `out`; returns the
    name of its public class."""
    text = source.read_text() if isinstance(source, Path) else source
    name = re.search(r"public\s+(?:final\s+)?class\s+(\w+)", text)[1]
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.java").write_text(text)
    subprocess.run([str(jdk / "bin" / "javac"), "-g", "-d", str(out), str(out / f"{name}.java")],
                   check=True, capture_output=True, text=True)
    return name


def compile_program(jdk: Path, name: str, out: Path, classpath=(), rewrite=None) -> Path:
    """Compiles tests/programs/NAME.java with this JDK into OUT, against the jars of `classpath`;
    returns the classes folder. `rewrite` changes the source first (the same program written for
    another library); its line numbers must stay."""
    out.mkdir(parents=True, exist_ok=True)
    source = PROGRAMS / f"{name}.java"
    if rewrite:
        source = out / f"{name}.java"
        source.write_text(rewrite((PROGRAMS / f"{name}.java").read_text()))
    command = [str(jdk / "bin" / "javac"), "-g", "-d", str(out)]
    if classpath:
        command += ["-cp", os.pathsep.join(map(str, classpath))]
    subprocess.run([*command, str(source)], check=True, capture_output=True, text=True)
    return out


def marked_line(name: str, marker: str) -> int:
    """The line number of `// site:MARKER` in tests/programs/NAME.java."""
    for number, line in enumerate((PROGRAMS / f"{name}.java").read_text().splitlines(), start=1):
        if line.rstrip().endswith(f"// site:{marker}"):
            return number
    raise LookupError(f"no '// site:{marker}' in {name}.java")


class RunningJvm:
    """A program started with `java`, answering on stdout, told what to do on stdin."""

    def __init__(self, jdk: Path, classes: Path, main: str, *, java_options=(), env=None, classpath=()):
        command = [str(jdk / "bin" / "java"), *java_options, "-cp", os.pathsep.join(map(str, [classes, *classpath])), main]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, env=env)
        self.pid = self.process.pid
        self.lines: queue.Queue[str] = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=self._read, args=(self.process.stdout, self.lines.put), daemon=True).start()
        threading.Thread(target=self._read, args=(self.process.stderr, self.stderr.append), daemon=True).start()

    @staticmethod
    def _read(stream, sink):
        for line in stream:
            sink(line.rstrip("\n"))

    def expect(self, wanted: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"JVM {self.pid} did not print {wanted!r}; stderr: {self.stderr[-5:]}")
            try:
                if self.lines.get(timeout=left) == wanted:
                    return
            except queue.Empty:
                continue

    def send(self, command: str, then: str | None = "done", timeout: float = 60) -> None:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        if then:
            self.expect(then, timeout)

    def finish(self, timeout: float = 30) -> int:
        """Asks the program to exit and returns its exit code (it must exit by itself)."""
        if self.process.poll() is None:
            try:
                self.process.stdin.write("exit\n")
                self.process.stdin.close()
            except BrokenPipeError:
                pass
        return self.process.wait(timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def env_without_java_options() -> dict:
    env = dict(os.environ)
    env.pop("JAVA_TOOL_OPTIONS", None)
    return env


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


def first_line(stream, timeout: float) -> str:
    lines = []
    reader = threading.Thread(target=lambda: lines.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return lines[0] if lines else ""
