"""Data folders: the drain files that agents started with `data=DIR` write by themselves, a
series `unclosed-<pid>-<session>-<seq>.tsv` per JVM, the last one ending with a `Z` record when
the JVM exited normally (docs/protocol.md). Imported into a Store as one run per JVM."""

import re
from pathlib import Path

from .errors import UnclosedError
from .store import Store

FILE_NAME = re.compile(r"unclosed-(\d+)-([0-9a-f]+)-(\d+)\.tsv")


def jvm_series(folder) -> dict[tuple[int, str], list[Path]]:
    """The drain files of each JVM, by (pid, session), in the order they were written."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UnclosedError(f"{folder} is not a data folder (a folder the agent's data= option wrote)")
    series: dict[tuple[int, str], list[tuple[int, Path]]] = {}
    for path in folder.iterdir():
        match = FILE_NAME.fullmatch(path.name)
        if match:
            series.setdefault((int(match[1]), match[2]), []).append((int(match[3]), path))
    return {jvm: [path for _, path in sorted(files)] for jvm, files in sorted(series.items())}


def import_data_folder(store: Store, folder, label: str | None = None) -> list[dict]:
    """Adds one run per JVM that wrote into `folder`; returns, per JVM, {run_id, pid,
    main_class, exited}: `exited` is False for a JVM killed hard or still running, whose run
    holds what it wrote before and is marked incomplete."""
    imported = []
    for (pid, session), files in jvm_series(folder).items():
        run_id = store.begin_run({"session": session}, pid, label)  # the files' J records say the rest
        for path in files:
            store.ingest_drain(run_id, path, time_ms=int(path.stat().st_mtime * 1000))
        run = store.run(run_id)
        # exit_ms (from a Z record) says the JVM itself ended normally, which `complete` alone
        # does not (a recording can complete while its JVM lives on).
        exited = run["exit_ms"] is not None
        store.end_run(run_id, "complete" if exited else "incomplete")
        imported.append({"run_id": run_id, "pid": pid, "main_class": run["main_class"], "exited": exited})
    return imported
