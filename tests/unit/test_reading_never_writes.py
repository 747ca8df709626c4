"""Reading never writes (issue 10, item 6): report, diff, check and baseline open a database
read-only, so they work on a read-only file in a read-only folder and on another user's database,
and leave no file beside it; an empty file is an error, not a new database; `record` on a missing
pid makes no database."""
from __future__ import annotations

import hashlib
import json
import os
import pwd
import signal
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest

from helpers.cli import run_cli
from helpers.errors import one_line_error
from jvm.test_attach_errors import OTHER_USER, _env_for_other_user, other_user_available, python_for
from unclosed import Store
from unit.test_cli import recorded_db
from unit.test_drainfile import unclosed

REPORT_LINE = "java.util.zip.GZIPOutputStream (zlib): leaked 3 (786 KiB) held 0 (0 B) of 4 opened"
GATE_FAILED = "unclosed: gate FAILED: 1 finding left zlib resources unreleased, 1 problem with the data (1 JVM)"


def readings(db: Path, out: Path) -> list[tuple[list, int, str, str]]:
    """Each reading command on recorded_db's database, with its exit code, its stdout (as
    assert_read takes it) and its stderr; `out` is a folder the reader may write a baseline to."""
    return [
        (["report", db], 0, REPORT_LINE, ""),
        (["report", db, "--format", "json"], 0, '{\n  "runs": [\n', ""),
        (["report", db, "--format", "html"], 0, "<!doctype html>\n", ""),
        (["diff", db, db], 0, "new 0, fixed 0, changed 0, unchanged 1", ""),
        (["check", db], 3, GATE_FAILED, ""),
        (["baseline", db, "-o", out / "baseline.json"], 0, "", f"wrote 1 finding(s) to {out / 'baseline.json'}\n"),
    ]


def assert_read(result: tuple[int, str, str], code: int, out: str, err: str):
    """`out` is a whole line of the stdout, or its beginning when it ends with a newline; "": none."""
    assert (result[0], result[2]) == (code, err), result[2]
    if not out:
        assert result[1] == ""
    elif out.endswith("\n"):
        assert result[1].startswith(out)
    else:
        assert out in result[1].splitlines()


def state(folder: Path) -> dict:
    """What a reader must leave as it was: each file's bytes, owner and mode, by name."""
    return {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_uid, p.stat().st_mode)
            for p in sorted(folder.iterdir())}


def folder(path: Path) -> Path:
    path.mkdir()
    return path


@contextmanager
def modes(folder: Path, db: Path, folder_mode: int, file_mode: int):
    folder.chmod(folder_mode)
    db.chmod(file_mode)
    try:
        yield
    finally:
        folder.chmod(0o755)
        db.chmod(0o644)


def test_a_read_only_database_in_a_read_only_folder_is_read_and_left_as_it_was(tmp_path, capsys):
    db, out = recorded_db(folder(tmp_path / "data")), folder(tmp_path / "out")
    with modes(db.parent, db, 0o555, 0o444):
        before = state(db.parent)
        for args, code, line, err in readings(db, out):
            assert_read(unclosed(capsys, *args), code, line, err)
        assert state(db.parent) == before


@pytest.mark.skipif(other_user_available() is not None, reason=str(other_user_available()))
def test_another_users_database_is_read_and_left_as_it_was(tmp_path, capsys):
    """root reads a database of `nobody`: nothing is made beside it, nothing changes owner."""
    db, out = recorded_db(folder(tmp_path / "data")), folder(tmp_path / "out")
    theirs = pwd.getpwnam(OTHER_USER)
    for path in (db.parent, *db.parent.iterdir()):
        os.chown(path, theirs.pw_uid, theirs.pw_gid)
    with modes(db.parent, db, 0o755, 0o644):
        before = state(db.parent)
        for args, code, line, err in readings(db, out):
            assert_read(unclosed(capsys, *args), code, line, err)
        assert state(db.parent) == before


# Runs main() on each argument list given as JSON, in one process; prints each one's exit code,
# stdout and stderr, as JSON.
RUN_EACH = """
import contextlib, io, json, sys
from unclosed.commands import main
results = []
for args in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    results.append((code, out.getvalue(), err.getvalue()))
print(json.dumps(results))
"""


def as_other_user(*commands: list) -> list[tuple[int, str, str]]:
    """Each command (`unclosed ARGS`, as a list of ARGS) run by OTHER_USER: its exit code, stdout
    and stderr. Skips the test when no Python here is theirs to run."""
    python = python_for(OTHER_USER)
    if python is None:
        pytest.skip(f"no Python that {OTHER_USER} can run with this venv's packages")
    done = subprocess.run(
        ["setpriv", f"--reuid={OTHER_USER}", f"--regid={pwd.getpwnam(OTHER_USER).pw_gid}", "--clear-groups", python,
         "-c", RUN_EACH, json.dumps([[str(arg) for arg in args] for args in commands])],
        env=_env_for_other_user(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return [tuple(result) for result in json.loads(done.stdout)]


@pytest.fixture
def shared_folder():
    """A folder of root's that OTHER_USER may enter (pytest's own are root's alone)."""
    path = Path(tempfile.mkdtemp(prefix="unclosed-test-"))
    path.chmod(0o755)
    yield path
    subprocess.run(["rm", "-rf", str(path)], check=True)


@pytest.mark.skipif(other_user_available() is not None, reason=str(other_user_available()))
def test_another_user_reads_a_database_they_may_not_write(shared_folder):
    """`nobody` runs the reading commands on root's database (0644, in a 0755 folder)."""
    db, out = recorded_db(folder(shared_folder / "data")), folder(shared_folder / "out")
    db.chmod(0o644)  # shared by its owner: a new database is its owner's alone
    os.chown(out, pwd.getpwnam(OTHER_USER).pw_uid, pwd.getpwnam(OTHER_USER).pw_gid)
    before = state(db.parent)
    expected = readings(db, out)
    for result, (args, code, line, err) in zip(as_other_user(*(args for args, *_ in expected)), expected):
        assert_read(result, code, line, err)
    assert state(db.parent) == before


def test_an_empty_file_is_no_database_to_any_reader(tmp_path, capsys):
    empty = tmp_path / "empty.db"
    empty.touch()
    refused = f"unclosed: error: {empty} is empty, not an unclosed database (give a new name, or remove it)\n"
    for args in (["report", empty], ["report", empty, "--format", "json"], ["diff", empty, empty],
                 ["check", empty], ["baseline", empty, "-o", tmp_path / "baseline.json"]):
        assert unclosed(capsys, *args) == (1, "", refused), args
    assert [(p.name, p.stat().st_size) for p in tmp_path.iterdir()] == [("empty.db", 0)]


def test_record_on_a_missing_pid_makes_no_database(tmp_path):
    gone = subprocess.Popen(["true"])
    gone.wait()
    assert one_line_error(run_cli("record", gone.pid, "--db", tmp_path / "new.db")) == f"no process with pid {gone.pid}"
    assert list(tmp_path.iterdir()) == []


def kill_mid_write(db: Path) -> None:
    """Leaves `db` as a `record` killed while it took a drain in: a transaction half written
    into the file, the pages it replaced in a hot journal beside it."""
    writer = subprocess.Popen([sys.executable, "-c", f"""
import sqlite3, time
conn = sqlite3.connect({str(db)!r})
conn.execute("PRAGMA cache_size = 2")  # pages spill into the file before the commit
conn.execute("BEGIN")
conn.executemany("INSERT INTO errors (run_id, time_ms, message) VALUES (1, ?, ?)", [(t, "x" * 200) for t in range(5000)])
print("written", flush=True)
time.sleep(60)
"""], stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline() == "written\n"
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    assert Path(f"{db}-journal").stat().st_size > 0


def test_a_recording_killed_mid_write_is_undone_by_the_next_reader_that_may_write(tmp_path, capsys):
    """The one write a reader makes is SQLite's own: undoing the transaction of a process killed
    while it wrote, as any opening of the file for writing does."""
    db = recorded_db(tmp_path)
    kill_mid_write(db)
    assert_read(unclosed(capsys, "report", db), 0, REPORT_LINE, "")
    assert not Path(f"{db}-journal").exists()
    with Store(db, readonly=True) as store:
        assert store.error_count(1) == 0


@pytest.mark.skipif(other_user_available() is not None, reason=str(other_user_available()))
def test_a_killed_write_a_reader_may_not_undo_is_one_line(shared_folder):
    db = recorded_db(folder(shared_folder / "data"))
    db.chmod(0o644)  # shared by its owner: a new database is its owner's alone
    kill_mid_write(db)
    before = state(db.parent)
    assert as_other_user(["report", db]) == [(1, "", (
        f"unclosed: error: cannot open {db}: a process writing it was killed mid-write; a user who may write it "
        "undoes that by reading it once, e.g. with `unclosed report` (attempt to write a readonly database)\n"))]
    assert state(db.parent) == before
