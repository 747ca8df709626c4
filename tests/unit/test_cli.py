"""The `unclosed` command as a user runs it: usage errors, one-line errors, reports (the demo and
`detach`, which need a JVM: tests/jvm/test_cli.py)."""
from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from helpers.cli import run_cli
from helpers.errors import one_line_error
from unclosed import Store
from unclosed.commands.options import Duration

T0 = 1_700_000_000_000


def recorded_db(tmp_path) -> Path:
    db = tmp_path / "audit.db"
    drain = tmp_path / "drain.tsv"
    drain.write_text("\n".join([
        "V\t1",
        "S\t1\tc\tjava.util.zip.GZIPOutputStream\tzlib\tcom.example.Logger.log(Logger.java:12)",
        "F\t1\t0\tcom.example.Logger.log(Logger.java:12)",
        "C\t1\t4\t1\t3\t0\t0\t804864\t0",
    ]) + "\n")
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
    # record refuses before attaching to anything (pid 1 is not a JVM the test could touch)
    assert one_line_error(run_cli("record", "1", "--db", notes)) == (
        f"{notes} is not an unclosed database (not an SQLite file)")
    assert one_line_error(run_cli("report", notes)) == f"{notes} is not an unclosed database (not an SQLite file)"
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
