"""Faults caused, not reasoned about: a recorder killed at each moment of a drain, two recorders at
once, a JVM that exits right after it leaks, tracking that begins on a busy JVM, `unclosed run`
told to stop. Each ends with exact counts (or a one-line error) and a sound database."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers.cli import CLI, run_cli as run
from helpers.jvm import RunningJvm, compile_program, env_without_java_options, find_jdks, java_feature, marked_line
from unclosed import agent_jar, attach_agent
from unclosed.channel import AgentChannel

PROGRAM = "FaultWorkload"
JDK = next(jdk for jdk in find_jdks() if java_feature(jdk) == 17)
LEAK = f"{PROGRAM}.leak({PROGRAM}.java:{marked_line(PROGRAM, 'leak')})"
HOLD = f"{PROGRAM}.main({PROGRAM}.java:{marked_line(PROGRAM, 'hold')})"
BUSY = f"{PROGRAM}.lambda$startBusy$0({PROGRAM}.java:{marked_line(PROGRAM, 'busy')})"


@pytest.fixture(scope="module")
def classes(tmp_path_factory):
    return compile_program(JDK, PROGRAM, tmp_path_factory.mktemp("fault-classes"))


def start(classes, *java_options) -> RunningJvm:
    jvm = RunningJvm(JDK, classes, PROGRAM, java_options=java_options, env=env_without_java_options())
    jvm.expect("ready")
    return jvm


def sites(db: Path) -> dict[str, dict]:
    """The report's sites by culprit; every site has a kind (none unknown)."""
    result = run("report", db, "--format", "json", "--all")
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)["sites"]
    assert all(s["kind"] for s in found), found
    return {s["culprit"]: s for s in found}


def integrity(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


def record_in_background(pid: int, db: Path, *args, env=None) -> subprocess.Popen:
    return subprocess.Popen([CLI, "record", str(pid), "--db", str(db), *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def wait_for(path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.05)


# -- the recorder killed ----------------------------------------------------------------------------

@pytest.mark.parametrize("moment", ["drained", "ingesting"])
def test_a_recorder_killed_at_a_drain_loses_nothing_the_next_one_takes_it_in_once(classes, tmp_path, moment):
    """Killed after the agent wrote its drain (`drained`) or inside the database transaction
    (`ingesting`): the next `record` ends that run with the drain in flight taken in, once."""
    jvm = start(classes)
    db, paused = tmp_path / "audit.db", tmp_path / "paused"
    try:
        agent_dir = attach_agent(jvm.pid)
        jvm.send("leak 7")
        jvm.send("hold 3")
        env = dict(os.environ, UNCLOSED_TEST_PAUSE_AT=moment, UNCLOSED_TEST_PAUSE_FILE=str(paused))
        recorder = record_in_background(jvm.pid, db, "--interval", "0.5s", env=env)
        wait_for(paused)
        recorder.send_signal(signal.SIGKILL)
        recorder.wait()
        assert (agent_dir / f"drain-{recorder.pid}.tsv").exists()  # the drain in flight, left behind

        second = run("record", jvm.pid, "--db", db, "--duration", "0.5s", "--interval", "0.5s")
        assert second.returncode == 0, second.stderr
        assert f"run 1 (JVM {jvm.pid}) was left recording by a recorder that died (pid {recorder.pid}): " \
               f"took in drain-{recorder.pid}.tsv; marked incomplete" in second.stderr
        assert not (agent_dir / f"drain-{recorder.pid}.tsv").exists()
        for run_id in (1, 2):
            found = {s["culprit"]: s for s in json.loads(run("report", db, "--format", "json", "--run", run_id,
                                                              "--all").stdout)["sites"]}
            assert (found[LEAK]["opened"], found[LEAK]["kind"]) == (7, "java.util.zip.Deflater")
            assert (found[HOLD]["opened"], found[HOLD]["held"] + found[HOLD]["in_flight"]) == (3, 3)
        with sqlite3.connect(db) as conn:
            assert conn.execute("SELECT status, drains FROM runs WHERE id = 1").fetchone() == ("incomplete", 1)
            # Each listed once: the held ones, and the leaks the first drain found unreleased.
            listed = conn.execute("SELECT count(*), count(DISTINCT object_id) FROM objects WHERE run_id = 1").fetchone()
            assert listed[0] == listed[1] >= 3
        assert integrity(db) == "ok"
    finally:
        jvm.kill()


def test_a_recorder_killed_while_the_agent_writes_leaves_the_drain_for_the_next(classes, tmp_path):
    jvm = start(classes, "-Dunclosed.test.drainPauseMs=3000")
    db = tmp_path / "audit.db"
    try:
        agent_dir = attach_agent(jvm.pid)
        jvm.send("hold 4")
        recorder = record_in_background(jvm.pid, db, "--interval", "0.3s")
        deadline = time.monotonic() + 30
        while not list(agent_dir.glob(f".drain-{recorder.pid}.tsv.*.tmp")):  # the agent is writing
            assert time.monotonic() < deadline
            time.sleep(0.02)
        recorder.send_signal(signal.SIGKILL)
        recorder.wait()
        assert not (agent_dir / f"drain-{recorder.pid}.tsv").exists()  # not yet written whole

        second = run("record", jvm.pid, "--db", db, "--duration", "0.3s", "--interval", "0.3s", timeout=120)
        assert second.returncode == 0, second.stderr
        assert f"took in drain-{recorder.pid}.tsv; marked incomplete" in second.stderr
        with sqlite3.connect(db) as conn:
            assert conn.execute("SELECT count(*) FROM objects WHERE run_id = 1 AND state = 'held'").fetchone() == (4,)
        assert integrity(db) == "ok"
    finally:
        jvm.kill()


# -- readers, and the JVM's exit -----------------------------------------------------------------

def test_every_recording_knows_every_site(classes, tmp_path):
    """A second recording of one JVM, into the same or another database, and two at once: each
    gets every site's definition, whatever the others took."""
    jvm = start(classes)
    try:
        attach_agent(jvm.pid)
        jvm.send("leak 5")
        jvm.send("hold 2")
        first = tmp_path / "first.db"
        assert run("record", jvm.pid, "--db", first, "--duration", "0.5s", "--interval", "0.5s").returncode == 0
        assert run("record", jvm.pid, "--db", first, "--duration", "0.5s", "--interval", "0.5s").returncode == 0
        together = [record_in_background(jvm.pid, tmp_path / f"together-{i}.db", "--duration", "1s", "--interval", "0.2s")
                    for i in range(2)]
        assert [r.wait(60) for r in together] == [0, 0]
        for db in (first, tmp_path / "together-0.db", tmp_path / "together-1.db"):
            found = sites(db)
            assert (found[LEAK]["kind"], found[LEAK]["opened"]) == ("java.util.zip.Deflater", 5)
            assert (found[HOLD]["kind"], found[HOLD]["opened"]) == ("java.util.zip.Deflater", 2)
    finally:
        jvm.kill()


def test_a_jvm_that_exits_right_after_it_leaks_loses_nothing(classes, tmp_path):
    jvm = start(classes)
    db = tmp_path / "audit.db"
    try:
        recorder = record_in_background(jvm.pid, db, "--interval", "30s")  # no drain before the exit
        deadline = time.monotonic() + 30
        while not (list(Path("/tmp").glob(f"unclosed-{jvm.pid}*/control"))):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(1)  # the recorder has begun its run
        jvm.send("leak 20")
        jvm.send("exit", then=None)
        assert jvm.process.wait(30) == 0
        assert recorder.wait(60) == 0, recorder.stderr.read()
        leak = sites(db)[LEAK]
        assert (leak["opened"], leak["leaked"], leak["held"], leak["in_flight"]) == (20, 20, 0, 0)
        with sqlite3.connect(db) as conn:
            status, exit_ms = conn.execute("SELECT status, exit_ms FROM runs").fetchone()
        assert status == "complete" and exit_ms
        assert not list(Path("/tmp").glob(f"unclosed-{jvm.pid}*"))  # the agent's folder is gone
    finally:
        jvm.kill()


def test_tracking_began_when_the_reports_say(classes, tmp_path):
    """On a JVM whose threads keep both cores busy creating Deflaters, every Deflater begun after
    the time the agent gives as the start of tracking is tracked."""
    jvm = start(classes)
    try:
        jvm.send("busy 2")
        time.sleep(1)
        agent_dir = attach_agent(jvm.pid)
        channel = AgentChannel.connect(agent_dir, jvm.pid)
        since = channel.status()["tracking_since_ms"]
        time.sleep(1)
        channel.close()
        jvm.send("quiet", then=None)
        jvm.expect("done", timeout=60)
        db = tmp_path / "audit.db"
        assert run("record", jvm.pid, "--db", db, "--duration", "0.2s", "--interval", "0.2s").returncode == 0
        jvm.send(f"created-since {since + 1}", then=None)  # a later millisecond: surely after the stamp
        created = int(jvm.lines.get(timeout=30))
        assert created > 0
        assert sites(db)[BUSY]["opened"] >= created
    finally:
        jvm.kill()


# -- `unclosed run` told to stop --------------------------------------------------------------------

def test_run_under_a_ci_timeout_stops_its_jvms_and_still_gives_a_verdict(classes, tmp_path):
    java = str(JDK / "bin" / "java")
    runner = subprocess.Popen([CLI, "run", "--", java, "-cp", str(classes), PROGRAM],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert runner.stdout.readline() == "ready\n"
        runner.stdin.write("leak 3\nforever\n")
        runner.stdin.flush()
        time.sleep(3)  # the JVM's agent writes data every 2 s
        scratch = [p for p in Path("/tmp").glob("unclosed-run-*") if (p / "data").is_dir()]
        jvms = {int(f.name.split("-")[1]) for d in scratch for f in (d / "data").glob("unclosed-*.tsv")}
        assert jvms
        started = time.monotonic()
        runner.send_signal(signal.SIGTERM)
        code = runner.wait(60)
        stderr = runner.stderr.read()
        assert time.monotonic() - started < 20
        assert code == 143, stderr
        assert "unclosed: SIGTERM received: passed on to" in stderr
        assert "unclosed: gate FAILED" in stderr  # the leaks written before the stop
        assert not any(Path(f"/proc/{pid}").exists() for pid in jvms)  # nothing left running
        assert not any(p.exists() for p in scratch)  # nor its temporary folder
    finally:
        if runner.poll() is None:
            runner.kill()
