"""Drain files written by hand after docs/protocol.md ("Drain file (format 2)"), for the tests
that feed the store, the CLI and data folders without a JVM."""
from __future__ import annotations

from pathlib import Path

SESSION = "5e5510a"  # the agent session of every drain the tests write, unless they say another


def write_drain(path, records, *, session: str = SESSION, seq: int = 1) -> Path:
    """Writes a drain file of format 2 at `path` and returns its path: `V 2`, then `J session`
    and `J drain_seq` (unless `records` hold them), the records (tuples of fields, each written
    as str() makes it), and the last line, `W` with the number of lines before it."""
    given = {record[1] for record in records if record[0] == "J"}
    lines = ["V\t2"]
    lines += [f"J\t{key}\t{value}" for key, value in (("session", session), ("drain_seq", seq)) if key not in given]
    lines += ["\t".join(map(str, record)) for record in records]
    lines.append(f"W\t{len(lines)}")
    path = Path(path)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
