"""attach_agent's failures against real JVMs on every JDK: each one a clear, one-line AttachError
naming what to do (those told before any JVM is reached: tests/unit/test_attach_errors.py)."""
from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from helpers.errors import attach_error
from helpers.jvm import IDLE_PROGRAM, compile_java
from unclosed.attach import agent_dir_of

# Makes its dir=, then fails to start, leaving its reason where the real agent does: the
# system property unclosed.error (the attach protocol carries only a code).
FAILING_AGENT = """
import java.nio.file.Files;
import java.nio.file.Paths;

public class FailingAgent {
    public static void agentmain(String options) throws Exception {
        Files.createDirectories(Paths.get(options.replaceAll(".*dir=([^,]*).*", "$1")));
        System.setProperty("unclosed.error", "agent not started: broken on purpose");
        throw new IllegalStateException("broken on purpose");
    }
}
"""


@pytest.fixture
def world_readable_dir():
    folder = Path(tempfile.mkdtemp(prefix="unclosed-test-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def build_jar(jdk: Path, folder: Path, manifest: str) -> Path:
    """A jar of FailingAgent with the given manifest, built with the JDK's own tools."""
    classes = folder / "agent-classes"
    compile_java(jdk, FAILING_AGENT, classes)
    (folder / "manifest.txt").write_text(manifest)
    jar = folder / "agent.jar"
    subprocess.run([str(jdk / "bin" / "jar"), "cfm", str(jar), str(folder / "manifest.txt"),
                    "-C", str(classes), "FailingAgent.class"], check=True, capture_output=True)
    jar.chmod(0o644)
    return jar


def test_a_jvm_that_disallows_attaching(jdk, java_program):
    program = java_program(jdk, IDLE_PROGRAM, java_options=["-XX:+DisableAttachMechanism"])
    assert attach_error(program.pid) == (
        f"JVM {program.pid} does not allow attaching (started with -XX:+DisableAttachMechanism?): "
        "start it with -javaagent:unclosed-agent.jar instead")


def test_an_agent_that_fails_to_start_gives_the_targets_reason(jdk, java_program, world_readable_dir, monkeypatch):
    monkeypatch.setenv("UNCLOSED_AGENT_JAR", str(build_jar(jdk, world_readable_dir, "Agent-Class: FailingAgent\n")))
    program = java_program(jdk, IDLE_PROGRAM)
    agent_dir = world_readable_dir / "agent"
    assert attach_error(program.pid, {"dir": str(agent_dir)}) == (
        f"the agent failed to start in JVM {program.pid}: agent not started: broken on purpose")
    assert agent_dir_of(program.pid) is None  # it did not stay


def test_a_jar_without_an_agent_class(jdk, java_program, world_readable_dir, monkeypatch):
    jar = build_jar(jdk, world_readable_dir, "Created-By: a test\n")
    monkeypatch.setenv("UNCLOSED_AGENT_JAR", str(jar))
    program = java_program(jdk, IDLE_PROGRAM)
    assert attach_error(program.pid, {"dir": str(world_readable_dir / "agent")}) == (
        f"JVM {program.pid} could not load the agent jar {jar} "
        f"(Agent JAR not found or no Agent-Class attribute): can user {pwd.getpwuid(os.geteuid()).pw_name} read it?")


def test_agent_options_cannot_hold_commas(jdk, java_program, world_readable_dir, monkeypatch):
    monkeypatch.setenv("UNCLOSED_AGENT_JAR", str(build_jar(jdk, world_readable_dir, "Agent-Class: FailingAgent\n")))
    program = java_program(jdk, IDLE_PROGRAM)
    assert attach_error(program.pid, {"depth": "1,2"}) == "agent option depth='1,2' may not contain ','"


@pytest.mark.skipif(not (Path(__file__).parents[2] / "controller/unclosed/jars/unclosed-agent.jar").exists(),
                    reason="the agent jar is not built (gradle -q agentJar)")
def test_the_real_agent_refuses_an_unknown_option(jdk, java_program, world_readable_dir):
    program = java_program(jdk, IDLE_PROGRAM)
    assert attach_error(program.pid, {"dir": str(world_readable_dir / "agent"), "no_such_option": "1"}) == (
        f"the agent failed to start in JVM {program.pid}: unknown agent option 'no_such_option'")


# --- a JVM of another user ----------------------------------------------------------------------

OTHER_USER = "nobody"


def other_user_available() -> str | None:
    """Why a JVM cannot be run as another user here, or None when it can."""
    if os.geteuid() != 0:
        return "only root can start a JVM as another user"
    if not shutil.which("setpriv"):
        return "setpriv (util-linux) is missing"
    try:
        pwd.getpwnam(OTHER_USER)
    except KeyError:
        return f"there is no user {OTHER_USER}"
    return None


def python_for(user: str) -> str | None:
    """A Python that `user` may run and that loads this venv's packages (the venv's own Python
    may live under /root); None if there is none."""
    candidate = shutil.which(f"python{sys.version_info.major}.{sys.version_info.minor}", path="/usr/bin:/usr/local/bin")
    if candidate is None:
        return None
    probe = subprocess.run(["setpriv", f"--reuid={user}", f"--regid={pwd.getpwnam(user).pw_gid}", "--clear-groups",
                            candidate, "-c", "import unclosed"], env=_env_for_other_user(), capture_output=True)
    return candidate if probe.returncode == 0 else None


def _env_for_other_user() -> dict:
    import py4j  # the venv's packages, found from the installed ones
    site_packages = str(Path(py4j.__file__).parents[1])
    controller = str(Path(__file__).parents[2] / "controller")
    return {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{controller}:{site_packages}", "HOME": "/tmp"}


@pytest.mark.skipif(other_user_available() is not None, reason=str(other_user_available()))
def test_root_may_attach_to_a_jvm_of_another_user(jdk, java_program, world_readable_dir, monkeypatch):
    """As root the Attach API reaches any user's JVM, and the agent runs as that user."""
    monkeypatch.setenv("UNCLOSED_AGENT_JAR", str(build_jar(jdk, world_readable_dir, "Agent-Class: FailingAgent\n")))
    program = java_program(jdk, IDLE_PROGRAM, user=OTHER_USER)
    assert Path(f"/proc/{program.pid}").stat().st_uid == pwd.getpwnam(OTHER_USER).pw_uid
    world_readable_dir.chmod(0o1777)  # the agent, as the JVM's user, makes its folder here
    agent_dir = world_readable_dir / "agent"
    assert attach_error(program.pid, {"dir": str(agent_dir)}).endswith("agent not started: broken on purpose")
    assert agent_dir.stat().st_uid == pwd.getpwnam(OTHER_USER).pw_uid  # the agent ran as the JVM's user


@pytest.mark.skipif(other_user_available() is not None, reason=str(other_user_available()))
def test_a_jar_the_jvms_user_cannot_read(jdk, java_program, world_readable_dir, monkeypatch, tmp_path):
    private = tmp_path / "private"  # pytest's folders are the owner's alone
    private.mkdir(mode=0o700)
    jar = shutil.copy(build_jar(jdk, world_readable_dir, "Agent-Class: FailingAgent\n"), private / "agent.jar")
    monkeypatch.setenv("UNCLOSED_AGENT_JAR", str(jar))
    program = java_program(jdk, IDLE_PROGRAM, user=OTHER_USER)
    assert attach_error(program.pid, {"dir": str(world_readable_dir / "agent")}) == (
        f"JVM {program.pid} could not load the agent jar {jar} "
        f"(Agent JAR not found or no Agent-Class attribute): can user {OTHER_USER} read it?")


@pytest.mark.skipif(other_user_available() is not None, reason=str(other_user_available()))
def test_another_user_cannot_attach_and_is_told_whose_jvm_it_is(jdk, java_program):
    """Run the controller as `nobody` against root's JVM: HotSpot answers only its own user."""
    python = python_for(OTHER_USER)
    if python is None:
        pytest.skip(f"no Python that {OTHER_USER} can run with this venv's packages")
    program = java_program(jdk, IDLE_PROGRAM)  # root's
    result = subprocess.run(
        ["setpriv", f"--reuid={OTHER_USER}", f"--regid={pwd.getpwnam(OTHER_USER).pw_gid}", "--clear-groups",
         python, "-c", "import sys; from unclosed.commands import main; sys.exit(main(sys.argv[1:]))",
         "attach", str(program.pid)],
        env=_env_for_other_user(), capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (f"unclosed: error: process {program.pid} runs as user root: attaching needs that user, "
                             "e.g. `sudo -u root unclosed ...`\n")
