"""A JVM as in a container (issue 12, item 1): its own PID and mount namespaces (it is pid 1
there) and a private /tmp, made with `unshare`; with its own network namespace too in the last
tests. Recorded from the host by its host pid (`attach`, `record`, `explain`, `detach`), and
from inside by the agent jar's own launcher (`java -jar unclosed-agent.jar 1 data=...`) whose
data folder is copied out and read on the host (`import`, `check`, `report`). JDK 17 only: the
namespaces, not the JDK, are what is tested here."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from helpers.cli import CLI, run_cli
from helpers.drains import write_drain
from helpers.errors import one_line_error
from helpers.jvm import compile_program, find_jdks, java_feature
from helpers.namespaces import NamespacedJvm, namespaces_unavailable, shared_folder
from jvm.test_e2e_zlib import LEAKY_FINDINGS, PROGRAM, expected, observed
from unclosed import agent_jar
from unclosed.gate import GATE_FAILED

pytestmark = pytest.mark.skipif(namespaces_unavailable() is not None, reason=str(namespaces_unavailable()))

JDK = next((jdk for jdk in find_jdks() if java_feature(jdk) == 17), None) or find_jdks()[0]
OTHER_USER = "nobody"
HELD = [f for f in LEAKY_FINDINGS if f[5]]  # (marker, kind, opened, released, leaked, held, bytes)
HELD_COUNT = sum(f[5] for f in HELD)
HELD_BYTES = sum(f[5] * f[6] for f in HELD)

@pytest.fixture(scope="module")
def shared():
    """A folder the namespaced JVMs see (theirs is a /tmp of their own): ZlibWorkload compiled
    into classes/, and the agent jar."""
    folder = shared_folder("unclosed-containers-")
    try:
        compile_program(JDK, PROGRAM, folder / "classes")
        shutil.copyfile(agent_jar(), folder / "unclosed-agent.jar")
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def namespaced(shared):
    """Starts ZlibWorkload in namespaces of its own; kills what is left after the test."""
    started: list[NamespacedJvm] = []

    def start(**options) -> NamespacedJvm:
        jvm = NamespacedJvm(JDK, shared / "classes", PROGRAM, **options)
        started.append(jvm)
        jvm.expect("ready")
        assert jvm.ns_pid() == 1 and jvm.pid != 1  # it sees itself as pid 1
        assert (jvm.root() / "tmp").stat().st_dev != Path("/tmp").stat().st_dev  # a /tmp of its own
        return jvm

    yield start
    for jvm in started:
        jvm.kill()


def cli(*args) -> str:
    result = run_cli(*args)
    assert result.returncode == 0, f"unclosed {' '.join(map(str, args))} exited {result.returncode}: {result.stderr}"
    return result.stdout


def gone(path: Path, timeout: float = 5) -> bool:
    deadline = time.monotonic() + timeout
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return not path.exists()


def report(db: Path) -> dict:
    return json.loads(cli("report", db, "--format", "json"))


# --- from the host, by the JVM's host pid ----------------------------------------------------------

@pytest.mark.parametrize("user", [None, OTHER_USER], ids=["root", OTHER_USER])
def test_recorded_from_the_host_by_its_host_pid_with_exact_counts(namespaced, user, tmp_path):
    jvm = namespaced(user=user)
    agent_dir = cli("attach", jvm.pid).strip()
    assert agent_dir == f"/proc/{jvm.pid}/root/tmp/unclosed-1"  # the JVM's own /tmp, under the pid it sees
    jvm.send("leaky")
    cli("record", jvm.pid, "--db", tmp_path / "audit.db", "--duration", "1s", "--interval", "0.5s")
    found = report(tmp_path / "audit.db")
    assert observed(found) == expected(LEAKY_FINDINGS)
    assert (found["runs"][-1]["pid"], found["runs"][-1]["mode"]) == (jvm.pid, "attach")

    assert cli("detach", jvm.pid) == f"detached from JVM {jvm.pid}\n"
    assert gone(Path(agent_dir))  # the agent removes its folder as it stops, after answering
    jvm.send("leaky")  # the application carries on, untracked
    assert jvm.finish() == 0


def test_a_jvm_exiting_while_recorded_from_the_host_leaves_its_exit_data(namespaced, shared, tmp_path):
    jvm = namespaced(java_options=[f"-javaagent:{shared / 'unclosed-agent.jar'}"])
    recorder = subprocess.Popen([CLI, "record", str(jvm.pid), "--db", str(tmp_path / "audit.db"), "--interval", "0.5s"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert recorder.stderr.readline().startswith(f"recording JVM {jvm.pid}: ")  # its first drain
        jvm.send("leaky")
        assert jvm.finish() == 0
        assert recorder.wait(60) == 0
    finally:
        recorder.kill()
        recorder.wait()
    found = json.loads(cli("report", tmp_path / "audit.db", "--format", "json", "--all"))
    assert found["runs"][-1]["status"] == "complete"
    leaks = [f for f in LEAKY_FINDINGS if f[4]]
    assert [s for s in observed(found) if s[3]] == expected(leaks)  # (kind, opened, released, leaked, ...)


def test_explain_by_the_host_pid_counts_what_the_agent_holds(namespaced, shared):
    jvm = namespaced(java_options=[f"-javaagent:{shared / 'unclosed-agent.jar'}"])  # no attach to wait for
    jvm.send("leaky")
    memory = json.loads(cli("explain", jvm.pid, "--format", "json"))
    assert memory["pid"] == jvm.pid
    zlib = memory["ours"]["families"]["zlib"]
    assert (memory["ours"]["agent"], zlib["held"], zlib["bytes_held"]) == (True, HELD_COUNT, HELD_BYTES)
    assert jvm.finish() == 0


def test_explain_by_the_host_pid_without_the_agent(namespaced):
    """The OS and JVM views reach a namespaced JVM (jcmd by its host pid, /proc on the host)."""
    jvm = namespaced()
    memory = json.loads(cli("explain", jvm.pid, "--format", "json"))
    assert memory["pid"] == jvm.pid and memory["ours"]["agent"] is False
    assert memory["jvm"]["heap"] and memory["java"]["feature"] == 17, memory["notes"]
    assert jvm.finish() == 0


# --- inside: the agent jar's own launcher, a data folder copied out ---------------------------------

def launcher(jvm: NamespacedJvm, *args) -> str:
    """`java -jar /tmp/unclosed-agent.jar ...` run inside the JVM's namespaces, where the jar was
    copied as `kubectl cp` would put it; its one line of output."""
    jar = jvm.root() / "tmp" / "unclosed-agent.jar"
    if not jar.exists():
        shutil.copyfile(agent_jar(), jar)
    result = jvm.inside(JDK / "bin" / "java", "-jar", "/tmp/unclosed-agent.jar", *args)
    assert result.returncode == 0 and result.stdout.count("\n") == 1, result
    return result.stdout


def test_the_launcher_inside_then_detach_copy_out_import_check_and_report(namespaced, tmp_path):
    """The JVM is the container's pid 1: its /tmp ends with it. So: record into /tmp/leaks,
    detach (the agent writes its last data file), copy the folder out while the JVM runs."""
    jvm = namespaced()
    said = launcher(jvm, "1", "data=/tmp/leaks,flush=1")
    assert said.startswith("unclosed: recording JVM 1 (data=/tmp/leaks,flush=1; ") and "1 detach" in said
    jvm.send("leaky")
    # What a data file finds open that is younger than `flush` is in flight, not yet held.
    time.sleep(1.2)
    assert launcher(jvm, "1", "detach") == "unclosed: agent of JVM 1 detached\n"
    data = Path(shutil.copytree(jvm.root() / "tmp" / "leaks", tmp_path / "leaks"))  # kubectl cp POD:/tmp/leaks
    jvm.send("leaky")  # detached: not in the data
    assert jvm.finish() == 0

    check = run_cli("check", data)
    assert check.returncode == GATE_FAILED, check.stderr
    for *_, culprit in expected([f for f in LEAKY_FINDINGS if f[4]]):  # the leaks; held ones are not judged
        assert culprit in check.stdout, check.stdout

    imported = run_cli("import", data, "--db", tmp_path / "leaks.db", "--label", "pod")
    assert imported.returncode == 0, imported.stderr
    assert re.fullmatch(r"run 1: JVM 1 \(ZlibWorkload\), did not exit \(still running, detached or killed\): "
                        r"incomplete, \d+ data files?\n", imported.stdout), imported.stdout
    found = report(tmp_path / "leaks.db")
    assert observed(found) == expected(LEAKY_FINDINGS)
    assert [(r["label"], r["status"], r["mode"]) for r in found["runs"]] == [("pod", "incomplete", "attach")]

    again = run_cli("import", data, "--db", tmp_path / "leaks.db")  # the same folder: nothing new
    assert again.returncode == 0 and again.stdout.startswith("run 1: ") and "0 new of" in again.stdout, again
    assert observed(report(tmp_path / "leaks.db")) == expected(LEAKY_FINDINGS)


def test_the_launcher_inside_with_data_on_a_volume_that_outlives_the_jvm(namespaced, tmp_path):
    """A folder the host shares with the container (a volume): the JVM may exit, its last file
    (the exit data) is there, and the run is complete."""
    volume = shared_folder("unclosed-volume-")
    try:
        jvm = namespaced()
        launcher(jvm, "1", f"data={volume}/leaks,flush=60")
        jvm.send("leaky")
        assert jvm.finish() == 0
        imported = run_cli("import", volume / "leaks", "--db", tmp_path / "leaks.db")
        assert imported.returncode == 0, imported.stderr
        assert imported.stdout == "run 1: JVM 1 (ZlibWorkload), exited, 1 data file\n"
        found = report(tmp_path / "leaks.db")
        # At exit the agent collects what was dropped: the held objects stay held (the list keeps them).
        assert observed(found) == expected(LEAKY_FINDINGS)
        assert found["runs"][0]["status"] == "complete"
    finally:
        shutil.rmtree(volume, ignore_errors=True)


# --- a network namespace of its own: the control channel is on the JVM's loopback -------------------

def test_another_network_namespace_is_refused_with_the_nsenter_that_works(namespaced, tmp_path):
    jvm = namespaced(network=True)
    refused = one_line_error(run_cli("record", jvm.pid, "--db", tmp_path / "audit.db", "--duration", "1s"))
    assert f"nsenter --target {jvm.pid} --net unclosed" in refused, refused
    assert not (tmp_path / "audit.db").exists()

    jvm.send("leaky")  # the refused record loaded the agent: tracked from there on
    hinted = jvm.inside(CLI, "record", jvm.pid, "--db", tmp_path / "audit.db", "--duration", "1s",
                        "--interval", "0.5s", net_only=True)
    assert hinted.returncode == 0, hinted.stderr
    assert observed(report(tmp_path / "audit.db")) == expected(LEAKY_FINDINGS)
    assert jvm.inside(CLI, "detach", jvm.pid, net_only=True).stdout == f"detached from JVM {jvm.pid}\n"
    assert jvm.finish() == 0


# --- data folders and `import`, no JVM -----------------------------------------------------------------

def test_import_refuses_a_folder_without_data_files_and_makes_no_database(tmp_path):
    (tmp_path / "empty").mkdir()
    message = one_line_error(run_cli("import", tmp_path / "empty", "--db", tmp_path / "x.db"))
    assert message.startswith(f"{tmp_path / 'empty'} holds no data files") and "data=" in message
    assert not (tmp_path / "x.db").exists()


def test_import_of_a_file_cut_short_names_it_and_imports_nothing(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    write_drain(data / "unclosed-7-5e5510a-000001.tsv", [("J", "main_class", "Whole")])
    cut = write_drain(data / "unclosed-8-0b0e-000001.tsv", [("J", "main_class", "Cut")], session="0b0e")
    cut.write_text(cut.read_text().rsplit("W\t", 1)[0])
    message = one_line_error(run_cli("import", data, "--db", tmp_path / "x.db"))
    assert message.startswith(f"{cut}: line ") and "cut short" in message, message
    assert not (tmp_path / "x.db").exists()  # nothing half imported


def test_import_prints_one_line_per_jvm(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    write_drain(data / "unclosed-7-5e5510a-000001.tsv", [("J", "main_class", "Exits"), ("Z", 1700000000000)])
    write_drain(data / "unclosed-9-0b0e-000001.tsv", [("J", "main_class", "Runs")], session="0b0e")
    write_drain(data / "unclosed-9-0b0e-000002.tsv", [("J", "main_class", "Runs")], session="0b0e", seq=2)
    done = run_cli("import", data, "--db", tmp_path / "x.db")
    assert (done.returncode, done.stdout) == (0, (
        "run 1: JVM 7 (Exits), exited, 1 data file\n"
        "run 2: JVM 9 (Runs), did not exit (still running, detached or killed): incomplete, 2 data files\n"))
    assert done.stderr == f"2 runs in {tmp_path / 'x.db'}: unclosed report {tmp_path / 'x.db'}\n"
