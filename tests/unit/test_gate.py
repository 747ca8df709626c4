"""`unclosed check` on bad input, without a JVM (the gate on real builds: tests/jvm/test_gate_builds.py)."""
from __future__ import annotations

import os

from helpers.cli import BIN, run


def test_check_explains_bad_input_in_one_line(tmp_path):
    unclosed = str(BIN / "unclosed")
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run([unclosed, "check", str(empty)], tmp_path, dict(os.environ))
    assert result.returncode == 1 and result.stderr.count("\n") == 1 and "no data files" in result.stderr
    bad = tmp_path / "baseline.json"
    bad.write_text("{}")
    result = run([unclosed, "check", str(empty), "--baseline", str(bad)], tmp_path, dict(os.environ))
    assert result.returncode == 1 and "not an unclosed baseline" in result.stderr
