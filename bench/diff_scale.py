#!/usr/bin/env python3
"""How long `unclosed diff` takes on two big runs (issue 10, item 9: two runs of 20,000 sites
each must diff in seconds).

    .venv/bin/python bench/diff_scale.py                 # N = 1,000, 5,000 and 20,000 sites a side
    .venv/bin/python bench/diff_scale.py --sites 50000   # other sizes (repeatable)

Each side is a database of one run of N creation sites, written through the Store from a drain
file made here: a library line is reached from a tenth of them and every other culprit line from
SHARED caller paths (sites sharing a culprit made the diff super-linear), and between the two
releases every line moved; of the culprits, one in 20 is
fixed, one in 20 renamed (another method of its class: paired by similarity), one in 20 new, and
one in 10 leaks twice as much. Prints, per N, the time of the CLI (`unclosed diff OLD NEW`, text
to /dev/null, and `--format json`) and the diff's summary.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from helpers.drains import write_drain  # noqa: E402  (the tests' writer of drain files, format 2)
from unclosed import Store  # noqa: E402

UNCLOSED = str(ROOT / ".venv" / "bin" / "unclosed")
SIZES = (1_000, 5_000, 20_000)
SHARED = 10  # sites (distinct caller paths) per culprit line
METHODS = 20  # culprit methods per class
DEFLATER = 268_288
JDK_TOP = ["java.util.zip.Deflater.<init>(Deflater.java:202)",
           "java.util.zip.GZIPOutputStream.<init>(GZIPOutputStream.java:93)"]


def culprit(c: int, release: int) -> str | None:
    """Culprit line number c in a release (0: old, 1: new), or None where it does not leak."""
    cls, method = f"com.acme.svc{c // METHODS % 7}.Service{c // METHODS}", f"op{c % METHODS}"
    if release and c % 20 == 1:
        method += "Renamed"
    if c % 20 == 2 and not release:
        return None  # new in the new release
    return f"{cls}.{method}({cls.rpartition('.')[2]}.java:{10 + c % METHODS * 5 + 3 * release})"


def paths(c: int, sites: int) -> int:
    """How many sites (caller paths) reach culprit c: the first, a library line, a tenth of them."""
    return sites // 10 if c == 0 else SHARED


def run_records(sites: int, release: int) -> list[tuple]:
    """The records of one drain file (after V and J session): a JVM's `sites` creation sites (a
    few fewer in the old release, where the new culprits are not) and its exit. The paths of a
    culprit part below its two callers, so that they share a signature (culprit and callers)."""
    records = [("J", "pid", 4000 + release), ("J", "main_class", "com.acme.Main"), ("J", "mode", "startup"),
               ("J", "tracking_since_ms", 1_700_000_000_000)]
    counts, sid = [], 0
    for c in range(1 + (sites - paths(0, sites)) // SHARED):
        line = culprit(c, release)
        if line is None:
            continue
        opened = 4
        leaked = 0 if release and c % 20 == 3 else 4 if release and c % 10 == 5 else 2
        for path in range(paths(c, sites)):
            sid += 1
            frames = JDK_TOP + [line, f"com.acme.api.Dispatcher.dispatch(Dispatcher.java:{30 + release})",
                                f"com.acme.api.Router.route(Router.java:{40 + release})",
                                f"com.acme.api.Handler{path}.handle(Handler{path}.java:12)", "com.acme.Main.main(Main.java:5)"]
            records.append(("S", sid, "c", "java.util.zip.GZIPOutputStream", "zlib", line, ""))
            records += [("F", sid, i, frame) for i, frame in enumerate(frames)]
            counts.append(("C", sid, opened, opened - leaked, leaked, 0, 0, leaked * DEFLATER, 0, 0, 0, 0))
    return records + counts + [("Z", 1_700_000_060_000)]


def database(folder: Path, name: str, sites: int, release: int) -> Path:
    db = folder / f"{name}.db"
    with Store(db) as store:
        run = store.begin_run({}, 4000 + release, name)
        store.ingest_drain(run, write_drain(folder / f"{name}.tsv", run_records(sites, release), session=f"5e{release}"))
        store.end_run(run, "complete")
    return db


def timed(*args) -> tuple[float, str]:
    start = time.monotonic()
    done = subprocess.run([UNCLOSED, *map(str, args)], capture_output=True, text=True)
    seconds = time.monotonic() - start
    if done.returncode != 0:
        raise SystemExit(f"unclosed {' '.join(map(str, args))} exited {done.returncode}: {done.stderr}")
    return seconds, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, action="append", help="sites a side (repeatable)")
    sizes = parser.parse_args().sites or SIZES
    print("| sites a side | `diff` (text) | `diff --format json` | new, fixed, changed, unchanged |")
    print("| --- | --- | --- | --- |")
    for sites in sizes:
        with tempfile.TemporaryDirectory(prefix="diff-scale-") as scratch:
            old, new = database(Path(scratch), "2.1.8", sites, 0), database(Path(scratch), "2.1.9", sites, 1)
            text_s, _ = timed("diff", old, new)
            json_s, out = timed("diff", old, new, "--format", "json")
            summary = json.loads(out)["summary"]
            print(f"| {sites:,} | {text_s:.1f} s | {json_s:.1f} s | "
                  f"{summary['new']}, {summary['fixed']}, {summary['changed']}, {summary['unchanged']} |", flush=True)


if __name__ == "__main__":
    main()
