"""Truncated or garbled data fails closed (issue 10, item 4): a drain file that does not prove it is
whole, or holds a line this reader cannot read, is an error naming the file and line, through the
store and through `unclosed check DATA_DIR`; never "nothing tracked"."""
from __future__ import annotations

import pytest

from helpers.cli import run_cli
from helpers.drains import SESSION, write_drain
from unclosed import Store
from unclosed.commands import main
from unclosed.errors import StoreError

T0 = 1_700_000_000_000
DEFLATER = 268288
MAX_INT = 2 ** 63 - 1

# A JVM that leaked one GZIPOutputStream and exited. After V and the two J lines the helper
# adds, LEAKED[i] is line i + 4; W is line 16.
LEAKED = [
    ("J", "pid", 4242), ("J", "main_class", "com.example.Main"), ("J", "mode", "startup"),
    ("J", "tracking_since_ms", T0),
    ("T", 1, "main"),  # 8
    ("S", 1, "c", "java.util.zip.GZIPOutputStream", "zlib", "com.example.Logger.log(Logger.java:12)", ""),
    ("F", 1, 0, "com.example.Logger.log(Logger.java:12)"),  # 10
    ("O", 100, 1, 1, T0 + 10, DEFLATER, 0),
    ("L", 100, T0 + 20),  # 12
    ("C", 1, 1, 0, 1, 0, 0, DEFLATER, 0, 0, 0, 0),
    ("N", "dropped_events", 0),  # 14
    ("Z", T0 + 30),
]
CLEAN = LEAKED[:9] + [("C", 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0), ("Z", T0 + 30)]


def data_file(folder):
    """Where a JVM's first data file goes in a data folder, named as datafiles.py reads it."""
    folder.mkdir(exist_ok=True)
    return folder / f"unclosed-4242-{SESSION}-1.tsv"


def cut(path, end: str):
    """Cuts the file just before the first occurrence of `end`."""
    text = path.read_text()
    path.write_text(text[:text.index(end)])


def write_then(change):
    def make(path):
        write_drain(path, LEAKED)
        change(path)
    return make


def replaced(old: str, new: str):
    """The leaking file with its first `old` made `new`."""
    return write_then(lambda path: path.write_text(path.read_text().replace(old, new, 1)))


def with_records(*extra, at: int):
    """The leaking file with `extra` records inserted before LEAKED[at], at line at + 4 (W counts them)."""
    return lambda path: write_drain(path, LEAKED[:at] + list(extra) + LEAKED[at:])


NUMBER = f"is not a number from 0 to {MAX_INT}"
# (how the file is spoiled, the line named, the problem)
SPOILED = {
    "cut before its C record": (write_then(lambda p: cut(p, "C\t1\t")), 12,
                                f"cut short: it does not end with its W record (last line 'L\\t100\\t{T0 + 20}')"),
    "cut in the middle of a line": (write_then(lambda p: cut(p, "\t0\t0\t0\t0\nN")), 13,
                                    "cut short: it does not end with its W record (last line 'C\\t1\\t1\\t0\\t1\\t0\\t0\\t268288')"),
    "cut before its W record": (write_then(lambda p: cut(p, "W\t")), 15,
                                f"cut short: it does not end with its W record (last line 'Z\\t{T0 + 30}')"),
    "cut after W's letter": (write_then(lambda p: cut(p, "15\n")), 16,
                             "cut short: it does not end with its W record (last line 'W\\t')"),
    "a W that counts wrong": (replaced("W\t15", "W\t14"), 16,
                              "its W record counts '14' lines, the file has 15 before it"),
    "a W of 5000 digits": (replaced("W\t15", "W\t" + "9" * 5000), 16,
                           "its W record counts '99999999999999999999' lines, the file has 15 before it"),
    "a garbage line": (with_records(("<html>garbage",), at=9), 13, "not a record: '<html>garbage'"),
    "an empty line": (with_records(("",), at=9), 13, "not a record: ''"),
    "an O record missing a field": (with_records(("O", 101, 1, 1, T0 + 11, DEFLATER), at=8), 12,
                                    f"O record with 5 field(s), not 6: 'O\\t101\\t1\\t1\\t{T0 + 11}\\t268288'"),
    "an S record missing a field": (with_records(("S", 2, "c", "java.util.zip.Inflater", "zlib", "x.Y.z(Y.java:1)"),
                                                 at=7), 11,
                                    "S record with 5 field(s), not 6: 'S\\t2\\tc\\tjava.util.zip.Inflater\\tzlib\\tx.Y.z(Y.java:1)'"),
    "a negative number": (with_records(("O", 101, 1, 1, T0 + 11, -DEFLATER, 0), at=8), 12,
                          f"O record, field 5: '-268288' {NUMBER}"),
    "a negative count": (with_records(("C", 2, -1, 0, 0, 0, 0, 0, 0, 0, 0, 0), at=10), 14,
                         f"C record, field 2: '-1' {NUMBER}"),
    "a number beyond 2^63-1": (with_records(("L", 101, MAX_INT + 1), at=9), 13,
                               f"L record, field 2: '9223372036854775808' {NUMBER}"),
    "a number beyond 2^64-1": (with_records(("L", MAX_INT, 2 ** 64), at=9), 13,
                               f"L record, field 2: '18446744073709551616' {NUMBER}"),
    "a number of 100 digits": (with_records(("N", "dropped_events", "7" * 100), at=11), 15,
                               f"N record, field 2: '{'7' * 30}' {NUMBER}"),
    "an Arabic-Indic digit": (with_records(("O", "١٠١", 1, 1, T0 + 11, DEFLATER, 0), at=8), 12,
                              f"O record, field 1: '١٠١' {NUMBER}"),
    "a drain_seq that is not a number": (replaced("drain_seq\t1", "drain_seq\tone"), 3,
                                         f"J record: drain_seq 'one' {NUMBER}"),
    "a second V record": (with_records(("V", 2), at=4), 8, "a second V record: only the first line says the format"),
    "a W record before the last line": (with_records(("W", 8), at=5), 9, "a W record before the last line"),
    "a frame out of order": (with_records(("F", 1, 2, "x.Y.z(Y.java:1)"), at=7), 11,
                             "F record of site 1: frame 2, where frame 1 comes next"),
}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One database for the cases below, a run each."""
    with Store(tmp_path_factory.mktemp("db") / "audit.db") as s:
        yield s


@pytest.mark.parametrize("spoil, line, problem", SPOILED.values(), ids=SPOILED.keys())
def test_a_spoiled_drain_file_is_refused_naming_its_line(store, tmp_path, spoil, line, problem):
    path = data_file(tmp_path / "data")
    spoil(path)
    run = store.begin_run({}, 4242)
    with pytest.raises(StoreError) as refused:
        store.ingest_drain(run, path)
    assert str(refused.value) == f"{path}: line {line}: {problem}"
    assert store.run(run)["drains"] == 0


def unclosed(capsys, *args) -> tuple[int, str, str]:
    """`unclosed ARGS` in this process (main(), as the console script runs it): exit code, stdout, stderr."""
    code = main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("spoil, line, problem", SPOILED.values(), ids=SPOILED.keys())
def test_check_fails_closed_on_a_spoiled_data_file(tmp_path, capsys, spoil, line, problem):
    path = data_file(tmp_path / "data")
    spoil(path)
    assert unclosed(capsys, "check", tmp_path / "data") == (1, "", f"unclosed: error: {path}: line {line}: {problem}\n")


def test_a_whole_data_file_is_judged(tmp_path, capsys):
    leaked = write_drain(data_file(tmp_path / "leaked"), LEAKED)
    code, out, err = unclosed(capsys, "check", leaked.parent)
    assert (code, err) == (3, "")
    assert out.startswith("unclosed: gate FAILED: 1 site(s) left zlib resources unreleased:\n"
                          "  java.util.zip.GZIPOutputStream: leaked 1 (262 KiB) of 1 opened in JVM 4242 (com.example.Main)\n"
                          "    culprit: com.example.Logger.log(Logger.java:12)\n")
    write_drain(data_file(tmp_path / "clean"), CLEAN)
    code, out, err = unclosed(capsys, "check", tmp_path / "clean")
    assert (code, err) == (0, "")


def test_the_installed_command_fails_closed_too(tmp_path):
    path = write_drain(data_file(tmp_path / "data"), LEAKED)
    cut(path, "C\t1\t")
    result = run_cli("check", tmp_path / "data")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (f"unclosed: error: {path}: line 12: cut short: it does not end with its W record "
                             f"(last line 'L\\t100\\t{T0 + 20}')\n")
