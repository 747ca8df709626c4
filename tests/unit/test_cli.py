"""The `unclosed` command as a user runs it: usage errors, one-line errors, reports (the demo and
`detach`, which need a JVM: tests/jvm/test_cli.py)."""
from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
from pathlib import Path

import pytest

from helpers.cli import run_cli
from helpers.drains import write_drain
from helpers.errors import one_line_error
from unclosed import Store
from unclosed.commands.options import Duration
from unit.test_drainfile import unclosed

T0 = 1_700_000_000_000


def recorded_db(tmp_path) -> Path:
    db = tmp_path / "audit.db"
    drain = write_drain(tmp_path / "drain.tsv", [
        ("S", 1, "c", "java.util.zip.GZIPOutputStream", "zlib", "com.example.Logger.log(Logger.java:12)", ""),
        ("F", 1, 0, "com.example.Logger.log(Logger.java:12)"),
        ("C", 1, 4, 1, 3, 0, 0, 804864, 0, 0, 0, 0),
    ])
    with Store(db) as store:
        run = store.begin_run({"mode": "startup", "tracking_since_ms": T0, "main_class": "com.example.Main"}, 77, "ci")
        store.ingest_drain(run, drain)
        store.end_run(run, "complete")
    return db


@pytest.mark.parametrize("text, seconds", [("90s", 90), ("10m", 600), ("1h", 3600), ("30", 30), ("1.5h", 5400),
                                           ("0.5", 0.5)])
def test_durations(text, seconds):
    assert Duration().convert(text, None, None) == seconds


@pytest.mark.parametrize("bad", ["0", "-5s", "5x", "", "ten", "5 minutes"])
def test_a_bad_duration_is_a_one_line_usage_error(bad, tmp_path):
    message = one_line_error(run_cli("record", "123", "--db", tmp_path / "a.db", "--duration", bad), code=2)
    assert message.startswith("Invalid value for '--duration': ")
    assert message.endswith("is not a duration such as 90s, 10m, 1h or 30 (seconds) (see `unclosed record --help`)")
    assert not (tmp_path / "a.db").exists()


def test_usage_errors_name_what_is_missing(tmp_path):
    assert one_line_error(run_cli("record", "123"), code=2) == (
        "Missing option '--db'. (see `unclosed record --help`)")
    assert one_line_error(run_cli("report", tmp_path / "missing.db"), code=2) == (
        f"Invalid value for 'DB': File '{tmp_path / 'missing.db'}' does not exist. (see `unclosed report --help`)")
    assert one_line_error(run_cli("attach", "abc"), code=2).startswith("Invalid value for 'PID': 'abc' is not a valid integer")
    assert one_line_error(run_cli("frobnicate"), code=2) == "No such command 'frobnicate'. (see `unclosed --help`)"


def test_every_command_teaches_with_an_example():
    top = run_cli("--help")
    assert top.returncode == 0 and "unclosed demo" in top.stdout
    assert run_cli().stdout == top.stdout  # no command: the same help
    for command in ("attach", "record", "report", "detach", "demo"):
        result = run_cli(command, "--help")
        assert result.returncode == 0 and f"unclosed {command}" in result.stdout.split("Example", 1)[1], command


def test_report_text_and_json(tmp_path):
    db = recorded_db(tmp_path)
    text = run_cli("report", db)
    assert text.returncode == 0, text.stderr
    assert "java.util.zip.GZIPOutputStream (zlib): leaked 3 (786 KiB) held 0 (0 B) of 4 opened" in text.stdout
    assert "  culprit: com.example.Logger.log(Logger.java:12)" in text.stdout
    report = json.loads(run_cli("report", db, "--format", "json", "--family", "zlib").stdout)
    assert [(s["kind"], s["leaked"]) for s in report["sites"]] == [("java.util.zip.GZIPOutputStream", 3)]
    assert json.loads(run_cli("report", db, "--format", "json", "--kind", "Inflater").stdout)["sites"] == []
    assert one_line_error(run_cli("report", db, "--run", "5")) == f"{db} has no run 5"


def test_a_foreign_database_is_refused_and_left_as_it_was(tmp_path):
    notes = tmp_path / "notes.db"
    notes.write_text("not a database\n")
    before = hashlib.sha256(notes.read_bytes()).hexdigest()
    assert one_line_error(run_cli("report", notes)) == f"{notes} is not an unclosed database (not an SQLite file)"
    # record refuses before attaching to anything (pid 1 is not a JVM the test could touch)
    assert one_line_error(run_cli("record", "1", "--db", notes)) == (
        f"{notes} is not an unclosed database (not an SQLite file)")
    assert hashlib.sha256(notes.read_bytes()).hexdigest() == before


def test_record_keeps_the_database_when_attaching_fails(tmp_path):
    db = recorded_db(tmp_path)
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        assert one_line_error(run_cli("record", sleeper.pid, "--db", db)) == (
            f"process {sleeper.pid} (sleep) is not a Java VM")
    finally:
        sleeper.kill()
        sleeper.wait()
    with Store(db) as store:
        assert [r["label"] for r in store.runs()] == ["ci"]


# -- no tracebacks, ever (issue 10, item 8) --------------------------------------------------

def garble_table(db: Path, table: str) -> None:
    """Overwrites the first page of `table` (past the file's header and schema) with garbage."""
    with sqlite3.connect(db) as conn:
        page_size, = conn.execute("PRAGMA page_size").fetchone()
        root, = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", [table]).fetchone()
    conn.close()
    data = bytearray(db.read_bytes())
    data[(root - 1) * page_size:root * page_size] = b"\xa5" * page_size
    db.write_bytes(bytes(data))


def cut_to_half(db: Path) -> None:
    db.write_bytes(db.read_bytes()[:db.stat().st_size // 2])


@pytest.mark.parametrize("spoil", [garble_table, cut_to_half], ids=["a garbage page", "cut to half"])
def test_a_corrupt_database_is_one_line_naming_it(tmp_path, capsys, spoil):
    good = recorded_db(tmp_path)
    bad = tmp_path / "bad.db"
    bad.write_bytes(good.read_bytes())
    spoil(*((bad, "site_counts") if spoil is garble_table else (bad,)))
    corrupt = f"unclosed: error: {bad}: the database is corrupt (database disk image is malformed)\n"
    for args in (["report", bad], ["report", bad, "--format", "json"], ["check", bad], ["diff", good, bad],
                 ["diff", bad, good]):
        assert unclosed(capsys, *args) == (1, "", corrupt), args


def test_a_bug_is_one_line_and_its_traceback_only_when_asked(tmp_path, capsys, monkeypatch):
    db = recorded_db(tmp_path)

    def broken(*args, **kwargs):
        raise RuntimeError("boom\nin two lines")

    monkeypatch.setattr(Store, "site_findings", broken)
    bug = "unclosed: error: internal error: RuntimeError: boom in two lines (please report it)\n"
    assert unclosed(capsys, "report", db) == (1, "", bug)
    monkeypatch.setenv("UNCLOSED_DEBUG", "1")
    code, out, err = unclosed(capsys, "report", db)
    assert (code, out) == (1, "")
    assert err.startswith("Traceback (most recent call last):\n") and err.endswith("RuntimeError: boom\nin two lines\n" + bug)


def test_a_file_that_cannot_be_written_is_one_line(tmp_path, capsys):
    db = recorded_db(tmp_path)
    target = tmp_path / "no such folder" / "report.txt"
    assert unclosed(capsys, "report", db, "-o", target) == (
        1, "", f"unclosed: error: cannot use {target}: No such file or directory\n")
