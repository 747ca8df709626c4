"""The SQLite database of recorded runs: what each drain file of docs/protocol.md says, kept.

One database holds any number of runs (one per `unclosed record`); nothing is overwritten.
The store is the only code that knows the schema: it takes drains in (drainfile.py parses them)
and answers every question about runs with plain records (dicts). sqlite-utils creates the
schema and answers simple queries; the bulk rows of a drain go through plain sqlite3
`executemany`, several times faster.
"""

import gc
import json
import os
import socket
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from .drainfile import Drain, read_drain
from .errors import StoreError
from .faults import pause_if_asked

APPLICATION = "unclosed"
SCHEMA_VERSION = 2
SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_S = 30  # a reader waits this long for a writer's transaction (a drain) to end

# The facts of a run that `J` records (and the agent's status) may carry; the JVM's own pid
# (`pid` there, 1 in a container) is kept as jvm_pid.
RUN_FACTS = ("mode", "java_version", "java_vendor", "java_home", "main_class", "agent_version",
             "tracking_since_ms", "sample", "session")


def now_ms() -> int:
    return int(time.time() * 1000)


class Store:
    """An unclosed database. `readonly` (report, diff, check, baseline, explain): the file must
    exist and is opened for reading only, so that it may be read-only, another user's, or in
    use by a recording, and nothing is created beside it. Otherwise (record, run, import) a
    missing file becomes a new database."""

    def __init__(self, path, *, readonly: bool = False):
        self.path = Path(path)
        self.readonly = readonly
        _check_ours(self.path, readonly)
        try:
            if readonly:
                self.conn = sqlite3.connect(f"{self.path.absolute().as_uri()}?mode=ro", uri=True,
                                            timeout=BUSY_TIMEOUT_S)
            else:
                self.conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S)
            self.db = sqlite_utils.Database(self.conn)
            if not readonly and "meta" not in self.db.table_names():
                with self.conn:
                    _create_schema(self.db)
                # Its user's alone, whatever the umask, before any data goes in: it holds the
                # stacks, thread and test names the agent keeps in owner-only files (SQLite
                # gives its journal files the database's mode).
                os.chmod(self.path, 0o600)
        except sqlite3.Error as e:
            raise StoreError(f"cannot use {self.path}: {_sqlite_reason(e)}") from None
        # Per run, the counters last stored for each creation site (site_counts only grows
        # with rows that differ from these).
        self._last_counts: dict[int, dict[int, tuple]] = {}

    def close(self) -> None:
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- runs -------------------------------------------------------------------------------

    def begin_run(self, info: dict, pid: int, label: str | None = None, recorder: dict | None = None,
                  agent_dir: str | None = None, agent_uid: int | None = None, batch: int | None = None) -> int:
        """Adds a run in state `recording`; `info` is the agent's status (or any run facts).
        `recorder` ({pid, started}: this process, its start time in clock ticks) lets a later
        recording tell that this one died; `agent_dir` is where its agent leaves files, a folder
        of the JVM's user `agent_uid`. `batch`
        is the first run of the batch it belongs to (the JVMs of one data folder imported, or of
        one `unclosed run`); by default the run is a batch of its own."""
        facts = {key: info.get(key) for key in RUN_FACTS}
        row = dict(facts, pid=pid, jvm_pid=_int_or_none(info.get("pid")), host=socket.gethostname(), label=label,
                   started_ms=now_ms(), status="recording", drains=0, agent_dir=agent_dir, agent_uid=agent_uid,
                   recorder_pid=(recorder or {}).get("pid"), recorder_started=(recorder or {}).get("started"))
        with self.conn:
            run_id = self.db["runs"].insert(row).last_pk
            self.conn.execute("UPDATE runs SET batch = ? WHERE id = ?", [batch or run_id, run_id])
            return run_id

    def end_run(self, run_id: int, status: str) -> None:
        if status not in ("complete", "incomplete"):
            raise ValueError(f"a run ends complete or incomplete, not {status!r}")
        with self.conn:
            self.db["runs"].update(run_id, {"status": status, "ended_ms": now_ms()})

    def recordings(self) -> list[dict]:
        """The runs still marked `recording`: a recorder at work, or one that died (see begin_run)."""
        return list(self.db.query("SELECT * FROM runs WHERE status = 'recording' ORDER BY id"))

    def known(self, run_id: int) -> dict:
        """What of its agent a run knows, as the agent counts it: the first `sites` sites and
        `tests` tests (ids 1, 2, ... with none missing), and `threads` threads."""
        return {"sites": _prefix(self.conn, "SELECT agent_site_id FROM sites WHERE run_id = ? ORDER BY 1", run_id),
                "tests": _prefix(self.conn, "SELECT test_id FROM tests WHERE run_id = ? ORDER BY 1", run_id),
                "threads": self.conn.execute("SELECT count(*) FROM threads WHERE run_id = ?", [run_id]).fetchone()[0]}

    def runs(self) -> list[dict]:
        return list(self.db.query("SELECT * FROM runs ORDER BY id"))

    def run(self, run_id: int | None = None) -> dict:
        """One run, by default the latest."""
        if run_id is None:
            rows = list(self.db.query("SELECT * FROM runs ORDER BY id DESC LIMIT 1"))
            if not rows:
                raise StoreError(f"{self.path} has no runs yet")
        else:
            rows = list(self.db.query("SELECT * FROM runs WHERE id = ?", [run_id]))
            if not rows:
                raise StoreError(f"{self.path} has no run {run_id}")
        return rows[0]

    def latest_batch(self) -> list[dict]:
        """The runs of the latest batch (the latest run's), oldest first."""
        latest = self.run()
        return list(self.db.query("SELECT * FROM runs WHERE batch = ? ORDER BY id", [latest["batch"]]))

    def run_by_selector(self, selector: str | None) -> dict:
        """The run a selector names: None (the latest), an id (`3`; when no run has it, the
        latest run labelled so), a label (`2.1.8`: the latest run labelled so) or `label=17` (a
        label made of digits)."""
        if selector is None:
            return self.run()
        if selector.startswith("label="):
            return self._run_labelled(selector[len("label="):])
        if selector.isdigit():
            rows = list(self.db.query("SELECT * FROM runs WHERE id = ?", [int(selector)]))
            if rows:
                return rows[0]
            try:
                return self._run_labelled(selector)
            except StoreError:
                raise StoreError(f"{self.path} has no run {selector} {self._runs_listed()}") from None
        return self._run_labelled(selector)

    def _run_labelled(self, label: str) -> dict:
        rows = list(self.db.query("SELECT * FROM runs WHERE label = ? ORDER BY id DESC LIMIT 1", [label]))
        if not rows:
            raise StoreError(f"{self.path} has no run labelled {label!r} {self._runs_listed()}")
        return rows[0]

    def _runs_listed(self) -> str:
        """The runs, for an error that names none of them: `(its runs: 1 [2.1.8], 2)`."""
        runs = self.runs()
        if not runs:
            return "(it has no runs)"
        shown = ", ".join(f"{r['id']}" + (f" [{r['label']}]" if r["label"] else "") for r in runs[-8:])
        return f"(its runs: {'..., ' if len(runs) > 8 else ''}{shown})"

    # -- what a run found -------------------------------------------------------------------------
    # A site's counters are in site_counts, a row whenever a drain changed them: max(drain) makes
    # SQLite take the other columns from each site's latest row.

    def site_findings(self, run_id: int | None = None, kinds=None, families=None,
                      include_clean: bool = False) -> list[dict]:
        """Each counting site of a run (default: the latest) with its latest counters, worst first:
        by objects leaked, then held, then bytes leaked and held. A site's `role` is `c` (a
        creation stack) or `p` (objects found alive when tracking began: no stack). `held` counts
        what is held and older than the drain interval; what is younger is `in_flight`, most
        likely still in use. A site whose definition never reached this run is `unknown`: its
        kind cannot be told.

        `kinds` match a full class name or its simple name (`GZIPOutputStream`); `families` match
        exactly (`zlib`). Sites that released everything are left out unless `include_clean`.
        """
        run = self.run(run_id)
        now_ms = run["last_drain_ms"] or run["started_ms"]
        rows = self.db.query("""
            SELECT c.site_id, s.role, s.kind, s.family, s.culprit, s.frames, s.detail, c.opened, c.released,
                   c.leaked, c.held, c.bytes_leaked, c.bytes_held, c.oldest_held_ms, c.released_by_gc, c.in_flight,
                   c.bytes_in_flight, max(c.drain)
            FROM site_counts c LEFT JOIN sites s ON s.run_id = c.run_id AND s.agent_site_id = c.site_id
            WHERE c.run_id = ? GROUP BY c.site_id""", [run["id"]])
        findings = []
        for row in rows:
            held, in_flight = row["held"] - row["in_flight"], row["in_flight"]
            if not include_clean and not (row["leaked"] or held):
                continue
            kind = row["kind"] or ""
            if kinds and not any(kind == k or kind.endswith("." + k) for k in kinds):
                continue
            if families and row["family"] not in families:
                continue
            oldest = row["oldest_held_ms"]
            findings.append({
                "run": run["id"], "site_id": row["site_id"], "role": row["role"] or "c", "kind": row["kind"],
                "family": row["family"], "unknown": row["role"] is None,
                "opened": row["opened"], "released": row["released"], "leaked": row["leaked"], "held": held,
                "in_flight": in_flight, "released_by_gc": row["released_by_gc"],
                "bytes_leaked": row["bytes_leaked"], "bytes_held": row["bytes_held"] - row["bytes_in_flight"],
                "bytes_in_flight": row["bytes_in_flight"],
                "oldest_held_age_s": round(max(0, now_ms - oldest) / 1000, 1) if held and oldest else None,
                "culprit": row["culprit"], "detail": row["detail"], "frames": json.loads(row["frames"] or "[]"),
            })
        findings.sort(key=lambda f: (-f["leaked"], -f["held"], -(f["bytes_leaked"] + f["bytes_held"]), f["site_id"]))
        return findings

    def site_tests(self, run_id: int) -> dict[int, list[tuple[str, int]]]:
        """Per creation site, the tests that created the objects it leaked or holds (the test
        running when each was created, on any thread), most objects first."""
        rows = self.conn.execute(
            "SELECT o.site_id, t.name, count(*) FROM objects o JOIN tests t ON t.run_id = o.run_id AND t.test_id = o.test_id "
            "WHERE o.run_id = ? AND o.state IN ('leaked', 'held') GROUP BY o.site_id, t.name ORDER BY 3 DESC, 2",
            [run_id]).fetchall()
        tests: dict[int, list[tuple[str, int]]] = {}
        for site_id, name, count in rows:
            tests.setdefault(site_id, []).append((name, count))
        return tests

    def direct_pool(self, run_id: int) -> dict | None:
        """The JVM's own direct buffer pool at the run's last drain (count, memory_used,
        total_capacity), beside what the run's direct sites hold; None for a run without the figures."""
        figures = dict(self.conn.execute(
            "SELECT name, value FROM agent_counters WHERE run_id = ? AND name LIKE 'direct_pool_%' "
            "AND time_ms = (SELECT max(time_ms) FROM agent_counters WHERE run_id = ? AND name = 'direct_pool_count')",
            [run_id, run_id]).fetchall())
        if "direct_pool_count" not in figures:
            return None
        held, held_bytes = self.conn.execute(
            "SELECT coalesce(sum(held), 0), coalesce(sum(bytes_held), 0) FROM (SELECT c.held, c.bytes_held, max(c.drain) "
            "FROM site_counts c JOIN sites s ON s.run_id = c.run_id AND s.agent_site_id = c.site_id "
            "WHERE c.run_id = ? AND s.family = 'direct' GROUP BY c.site_id)", [run_id]).fetchone()
        return {"count": figures["direct_pool_count"], "memory_used": figures.get("direct_pool_used", 0),
                "total_capacity": figures.get("direct_pool_capacity", 0), "held_by_sites": held,
                "bytes_held_by_sites": held_bytes}

    def counters(self, run_id: int) -> dict[str, int]:
        """The agent's counters (`N` records: dropped_*, errors, instrumentation_errors, the
        direct pool, ...) as the last drain that sent each said them, by name."""
        rows = self.conn.execute(
            "SELECT name, value, max(time_ms) FROM agent_counters WHERE run_id = ? GROUP BY name", [run_id]).fetchall()
        return {name: value for name, value, _ in rows}

    def notes(self, run_id: int) -> list[dict]:
        """What the agent could not count of the objects alive when it attached, and why:
        [{"family", "text"}], as each drain said it (once each)."""
        return list(self.db.query("SELECT family, text FROM notes WHERE run_id = ? ORDER BY family, text", [run_id]))

    def error_count(self, run_id: int) -> int:
        """How many errors of its own the agent reported during the run."""
        return self.conn.execute("SELECT count(*) FROM errors WHERE run_id = ?", [run_id]).fetchone()[0]

    def timeline(self, run_id: int) -> dict:
        """Per kind, at each drain: objects held, their native bytes, objects leaked so far.
        {"t": [seconds since the run began], "kinds": {kind: {"held": [...], "bytes_held": [...], "leaked": [...]}}}"""
        run = self.run(run_id)
        rows = self.conn.execute("""
            SELECT c.site_id, coalesce(s.kind, '?'), c.time_ms, c.held, c.bytes_held, c.leaked
            FROM site_counts c LEFT JOIN sites s ON s.run_id = c.run_id AND s.agent_site_id = c.site_id
            WHERE c.run_id = ? ORDER BY c.site_id, c.drain""", [run_id]).fetchall()
        times = {row[0] for row in self.conn.execute(
            "SELECT DISTINCT time_ms FROM agent_counters WHERE run_id = ?", [run_id])}
        deltas: dict[str, dict[int, list[int]]] = {}  # kind -> time -> [held, bytes_held, leaked] changes
        previous: dict[int, tuple] = {}
        for site_id, kind, time_ms, *counts in rows:
            times.add(time_ms)
            before = previous.get(site_id, (0, 0, 0))
            change = deltas.setdefault(kind, {}).setdefault(time_ms, [0, 0, 0])
            for k in range(3):
                change[k] += (counts[k] or 0) - before[k]
            previous[site_id] = tuple(c or 0 for c in counts)
        ordered = sorted(times)
        start = min([run.get("started_ms") or ordered[0]] + ordered[:1]) if ordered else 0
        kinds = {}
        for kind, changes in sorted(deltas.items()):
            running, series = [0, 0, 0], {"held": [], "bytes_held": [], "leaked": []}
            for t in ordered:
                for k, change in enumerate(changes.get(t, (0, 0, 0))):
                    running[k] += change
                series["held"].append(running[0])
                series["bytes_held"].append(running[1])
                series["leaked"].append(running[2])
            kinds[kind] = series
        return {"t": [round((t - start) / 1000, 2) for t in ordered], "kinds": kinds}

    # -- memory samples (`unclosed explain`) ---------------------------------------------------

    def add_memory_samples(self, pid: int, time_ms: int, components: dict, run_id: int | None = None) -> None:
        """Stores one sample of a JVM's memory: {component: bytes} (explain.components)."""
        with self.conn:
            self.conn.executemany(
                "INSERT OR REPLACE INTO memory_samples (pid, run_id, time_ms, component, bytes) VALUES (?, ?, ?, ?, ?)",
                [(pid, run_id, time_ms, name, value) for name, value in components.items() if value is not None])

    def memory_samples(self, pid: int | None = None) -> list[dict]:
        """The samples stored, oldest first: {pid, run_id, time_ms, component, bytes} rows."""
        where, args = ("WHERE pid = ?", [pid]) if pid is not None else ("", [])
        return list(self.db.query(f"SELECT pid, run_id, time_ms, component, bytes FROM memory_samples {where} "
                                  "ORDER BY time_ms, component", args))

    # -- drains -----------------------------------------------------------------------------

    def ingest_drain(self, run_id: int, path, time_ms: int | None = None) -> dict:
        """Stores one drain file in one transaction, once: a drain of the run's agent session
        stored before (a file found again after a crash) is passed over. Returns what it said:
        {"stored", "seq", "events", "new_sites", "opened", "released", "leaked", "held",
        "in_flight", "sites", "errors", "exited"}, the counts being the run's totals so far."""
        path = Path(path)
        time_ms = now_ms() if time_ms is None else time_ms
        try:
            with _gc_paused():
                drain = read_drain(path)
                with self.conn:
                    stored = self._store(run_id, drain, time_ms)
                    pause_if_asked("ingesting")
        except BaseException as e:
            self._last_counts.pop(run_id, None)  # it may hold counts the rollback undid
            if isinstance(e, sqlite3.Error):
                raise StoreError(f"cannot store {path.name} in {self.path}: {_sqlite_reason(e)}") from None
            raise
        totals = [sum(c[i] for c in drain.counts.values()) for i in (0, 1, 2, 3, 8)]
        return {"stored": stored, "seq": drain.seq, "events": drain.events, "new_sites": len(drain.sites),
                "opened": totals[0], "released": totals[1], "leaked": totals[2], "held": totals[3] - totals[4],
                "in_flight": totals[4], "sites": len(drain.counts), "errors": len(drain.errors),
                "exited": drain.exit_ms is not None}

    def _store(self, run_id: int, drain: Drain, time_ms: int) -> bool:
        ex, many = self.conn.execute, self.conn.executemany
        run = ex("SELECT session FROM runs WHERE id = ?", [run_id]).fetchone()
        if run is None:
            raise StoreError(f"{self.path} has no run {run_id}")
        if run[0] and drain.session and drain.session != run[0]:
            raise StoreError(f"the drain file is of agent session {drain.session}, run {run_id} of {run[0]}: "
                             "not this run's (an earlier JVM's with the same pid?)")
        if drain.session and drain.seq is not None and not ex(
                "INSERT INTO drains (run_id, session, seq, time_ms) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (run_id, drain.session, drain.seq, time_ms)).rowcount:
            return False
        facts = {k: v for k, v in drain.facts.items() if k in RUN_FACTS}
        if "pid" in drain.facts:
            facts["jvm_pid"] = _int_or_none(drain.facts["pid"])
        drain_no = ex(f"UPDATE runs SET drains = drains + 1, last_drain_ms = ?{''.join(f', {k} = ?' for k in facts)} "
                      "WHERE id = ? RETURNING drains", (time_ms, *facts.values(), run_id)).fetchone()[0]
        if drain.exit_ms is not None:
            ex("UPDATE runs SET exit_ms = ? WHERE id = ?", (drain.exit_ms, run_id))
        many("INSERT INTO sites (run_id, agent_site_id, role, kind, family, culprit, frames, top_frame, detail) "
             "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, agent_site_id) DO UPDATE SET "
             "role = excluded.role, kind = excluded.kind, family = excluded.family, "
             "culprit = excluded.culprit, frames = excluded.frames, top_frame = excluded.top_frame, "
             "detail = excluded.detail",
             [(run_id, sid, d.role, d.kind, d.family, d.culprit, json.dumps(d.frames), d.frames[0] if d.frames else None,
               d.detail) for sid, d in drain.sites.items()])
        many("INSERT OR REPLACE INTO threads (run_id, thread_id, name) VALUES (?, ?, ?)",
             [(run_id, tid, name) for tid, name in drain.threads])
        many("INSERT OR REPLACE INTO tests (run_id, test_id, name) VALUES (?, ?, ?)",
             [(run_id, tid, name) for tid, name in drain.tests])

        # Objects: those listed held, then the ends of objects listed before. A reader keeps what
        # it learns of an object from each record (an end may come before its listing when a
        # drain file is found again after a crash).
        r = int(run_id)  # an int, safe inline
        many(f"INSERT INTO objects (run_id, object_id, site_id, thread_id, created_ms, bytes, test_id, state) "
             f"VALUES ({r}, ?1, ?2, ?3, ?4, ?5, ?6, 'held') ON CONFLICT (run_id, object_id) DO UPDATE SET "
             "site_id = excluded.site_id, thread_id = excluded.thread_id, created_ms = excluded.created_ms, "
             "bytes = excluded.bytes, test_id = excluded.test_id", drain.held)
        many(f"INSERT INTO objects (run_id, object_id, site_id, thread_id, created_ms, bytes, test_id, reclaimed_ms, state) "
             f"VALUES ({r}, ?1, ?2, ?3, ?4, ?5, ?6, ?7, 'leaked')", drain.held_then_leaked)
        many(f"INSERT INTO objects (run_id, object_id, release_site_id, release_thread_id, released_ms, state) "
             f"VALUES ({r}, ?1, ?2, ?3, ?4, 'released') ON CONFLICT (run_id, object_id) DO UPDATE SET "
             "state = 'released', release_site_id = excluded.release_site_id, "
             "release_thread_id = excluded.release_thread_id, released_ms = excluded.released_ms", drain.released)
        many(f"INSERT INTO objects (run_id, object_id, release_thread_id, released_ms, released_by_gc, state) "
             f"VALUES ({r}, ?1, ?2, ?3, 1, 'released') ON CONFLICT (run_id, object_id) DO UPDATE SET "
             "state = 'released', release_thread_id = excluded.release_thread_id, "
             "released_ms = excluded.released_ms, released_by_gc = 1", drain.freed)
        many(f"INSERT INTO objects (run_id, object_id, reclaimed_ms, state) VALUES ({r}, ?1, ?2, 'leaked') "
             "ON CONFLICT (run_id, object_id) DO UPDATE SET state = 'leaked', reclaimed_ms = excluded.reclaimed_ms",
             drain.leaked)

        last = self._last_site_counts(run_id)
        changed = []
        for site_id, counts in drain.counts.items():
            if last.get(site_id) != counts:
                last[site_id] = counts
                changed.append((run_id, site_id, drain_no, time_ms, *counts))
        many("INSERT INTO site_counts (run_id, site_id, drain, time_ms, opened, released, leaked, held, bytes_held, "
             "bytes_leaked, oldest_held_ms, released_by_gc, in_flight, bytes_in_flight) "
             "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", changed)
        many("INSERT INTO agent_counters (run_id, time_ms, name, value) VALUES (?, ?, ?, ?)",
             [(run_id, time_ms, name, value) for name, value in drain.counters])
        many("INSERT INTO errors (run_id, time_ms, message) VALUES (?, ?, ?)",
             [(run_id, ms, message) for ms, message in drain.errors])
        many("INSERT OR IGNORE INTO notes (run_id, family, text) VALUES (?, ?, ?)",
             [(run_id, family, text) for family, text in drain.notes])
        return True

    def _last_site_counts(self, run_id: int) -> dict[int, tuple]:
        if run_id not in self._last_counts:
            # max(drain) makes SQLite take the other columns from each site's latest row.
            rows = self.conn.execute(
                "SELECT site_id, opened, released, leaked, held, bytes_held, bytes_leaked, oldest_held_ms, "
                "released_by_gc, in_flight, bytes_in_flight, max(drain) FROM site_counts WHERE run_id = ? "
                "GROUP BY site_id", (run_id,))
            self._last_counts[run_id] = {row[0]: tuple(row[1:11]) for row in rows}
        return self._last_counts[run_id]


def _prefix(conn: sqlite3.Connection, query: str, run_id: int) -> int:
    """How many of the ids 1, 2, ... the query's ordered ids hold with none missing."""
    n = 0
    for (value,) in conn.execute(query, [run_id]):
        if value != n + 1:
            break
        n += 1
    return n


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _sqlite_reason(e: sqlite3.Error) -> str:
    """SQLite's reason, said so that a person can act on it."""
    text = str(e)
    name = getattr(e, "sqlite_errorname", "")  # Python 3.11+
    if isinstance(e, sqlite3.DatabaseError) and ("malformed" in text or "not a database" in text):
        return f"the database is corrupt ({text})"
    if name == "SQLITE_READONLY_ROLLBACK":
        return ("a process writing it was killed mid-write; a user who may write it undoes that by reading it "
                f"once, e.g. with `unclosed report` ({text})")
    if "readonly database" in text:
        return f"it is read-only for this user ({text})"
    if "database is locked" in text:
        return f"another process kept it locked for over {BUSY_TIMEOUT_S} s ({text})"
    return text


@contextmanager
def _gc_paused():
    """A drain makes up to millions of small lists, none in a cycle; the cyclic GC would scan
    them again and again as they pile up (parsing ran 8x slower with it)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def check_database(path) -> None:
    """Refuses, creating nothing, a file a recording could not go into (not an unclosed database,
    another schema, corrupt, a folder): checked before anything is attached."""
    _check_ours(Path(path), readonly=False)


def _check_ours(path: Path, readonly: bool) -> None:
    """Refuses, without writing to it, a file that is not an unclosed database (of this schema).
    The one write it may make is SQLite's own: undoing the transaction of a process killed while
    it wrote the file (its hot journal), as any opening for writing would, when this user may."""
    if path.is_dir():
        raise StoreError(f"{path} is a directory, not a database file")
    if not readonly and not path.parent.is_dir():
        raise StoreError(f"cannot create {path}: {path.parent} is not a directory")
    try:
        with open(path, "rb") as f:
            header = f.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        if readonly:
            raise StoreError(f"no database {path}") from None
        return  # a new database
    except OSError as e:
        raise StoreError(f"cannot read {path}: {e.strerror}") from None
    if not header:
        raise StoreError(f"{path} is empty, not an unclosed database (give a new name, or remove it)")
    if header != SQLITE_HEADER:
        raise StoreError(f"{path} is not an unclosed database (not an SQLite file)")
    for mode in ("ro", "rw"):
        try:
            conn = sqlite3.connect(f"{path.absolute().as_uri()}?mode={mode}", uri=True, timeout=BUSY_TIMEOUT_S)
            try:
                meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            finally:
                conn.close()
            break
        except sqlite3.OperationalError as e:
            if "no such table" in str(e):
                raise StoreError(f"{path} is an SQLite database of another application, not of unclosed") from None
            if mode == "ro" and getattr(e, "sqlite_errorname", "") == "SQLITE_READONLY_ROLLBACK":
                continue  # a hot journal: opened for writing, SQLite undoes the killed transaction
            raise StoreError(f"cannot open {path}: {_sqlite_reason(e)}") from None
        except sqlite3.DatabaseError as e:
            raise StoreError(f"{path}: {_sqlite_reason(e)}") from None
    if meta.get("application") != APPLICATION:
        raise StoreError(f"{path} is an SQLite database of another application, not of unclosed")
    if meta.get("schema_version") != str(SCHEMA_VERSION):
        raise StoreError(f"{path} was made by another version of unclosed (schema {meta.get('schema_version')}; "
                         f"this one reads schema {SCHEMA_VERSION}): record into a new database")


def _create_schema(db: sqlite_utils.Database) -> None:
    db["meta"].create({"key": str, "value": str}, pk="key")
    db["meta"].insert_all([{"key": "application", "value": APPLICATION},
                           {"key": "schema_version", "value": str(SCHEMA_VERSION)}])
    # pid: the JVM's pid on the host that recorded it (jvm_pid: as the JVM saw itself, 1 in a
    # container). recorder_pid/recorder_started: the `record` process, so that a later one can
    # tell it died; agent_dir: where its agent leaves files (agent_uid: the JVM's user, its
    # owner). exit_ms: when the JVM itself ended normally (its last data has a Z record). sample: the agent tracked 1 object in this many.
    # batch: the first run of the runs recorded together (a data folder imported, `unclosed run`).
    db["runs"].create({
        "id": int, "pid": int, "jvm_pid": int, "host": str, "label": str, "mode": str, "session": str,
        "java_version": str, "java_vendor": str, "java_home": str, "main_class": str, "agent_version": str,
        "tracking_since_ms": int, "sample": int, "started_ms": int, "ended_ms": int, "exit_ms": int, "status": str,
        "last_drain_ms": int, "drains": int, "recorder_pid": int, "recorder_started": int, "agent_dir": str,
        "agent_uid": int, "batch": int,
    }, pk="id", not_null={"status", "drains"})
    # Each drain of an agent session stored once (a file found again after a crash is not).
    db["drains"].create({"run_id": int, "session": str, "seq": int, "time_ms": int}, pk=("run_id", "session", "seq"),
                        foreign_keys=[("run_id", "runs", "id")])
    # One row per stack the agent reported: creation (role c), release (r), or objects found
    # alive when tracking began (p, no stack). Other tables name a stack as the agent does, by
    # (run_id, site_id = agent_site_id): object rows then go in as the drain file has them.
    db["sites"].create({
        "id": int, "run_id": int, "agent_site_id": int, "role": str, "kind": str, "family": str,
        "culprit": str, "frames": str, "top_frame": str, "detail": str,
    }, pk="id", foreign_keys=[("run_id", "runs", "id")], not_null={"run_id", "agent_site_id", "role"})
    db["sites"].create_index(["run_id", "agent_site_id"], unique=True)
    db["threads"].create({"run_id": int, "thread_id": int, "name": str}, pk=("run_id", "thread_id"),
                         foreign_keys=[("run_id", "runs", "id")])
    db["tests"].create({"run_id": int, "test_id": int, "name": str}, pk=("run_id", "test_id"),
                       foreign_keys=[("run_id", "runs", "id")])
    # Objects a drain listed: held when it was written (most objects begin and end between two
    # drains and are only counted), and their ends. WITHOUT ROWID (which sqlite-utils cannot
    # say) keeps rows in the primary-key tree itself. state is 'held', 'released' or 'leaked';
    # test_id: the test running when it was created (0: none).
    db.execute("""
        CREATE TABLE objects (
            run_id INTEGER NOT NULL REFERENCES runs(id),
            object_id INTEGER NOT NULL,
            site_id INTEGER,
            thread_id INTEGER,
            created_ms INTEGER,
            bytes INTEGER,
            test_id INTEGER,
            state TEXT NOT NULL,
            released_ms INTEGER,
            release_site_id INTEGER,
            release_thread_id INTEGER,
            released_by_gc INTEGER,
            reclaimed_ms INTEGER,
            PRIMARY KEY (run_id, object_id),
            FOREIGN KEY (run_id, site_id) REFERENCES sites(run_id, agent_site_id),
            FOREIGN KEY (run_id, release_site_id) REFERENCES sites(run_id, agent_site_id)
        ) WITHOUT ROWID""")
    # Counters of a counting site over time: a row whenever a drain changed them, so the row
    # with the highest drain number is the site's current truth. in_flight: of the held, those
    # younger than the reader's interval at that drain.
    db.execute("""
        CREATE TABLE site_counts (
            run_id INTEGER NOT NULL REFERENCES runs(id),
            site_id INTEGER NOT NULL,
            drain INTEGER NOT NULL,
            time_ms INTEGER NOT NULL,
            opened INTEGER NOT NULL, released INTEGER NOT NULL, leaked INTEGER NOT NULL, held INTEGER NOT NULL,
            bytes_held INTEGER NOT NULL, bytes_leaked INTEGER NOT NULL, oldest_held_ms INTEGER NOT NULL,
            released_by_gc INTEGER NOT NULL, in_flight INTEGER NOT NULL, bytes_in_flight INTEGER NOT NULL,
            PRIMARY KEY (run_id, site_id, drain),
            FOREIGN KEY (run_id, site_id) REFERENCES sites(run_id, agent_site_id)
        )""")
    db["agent_counters"].create({"run_id": int, "time_ms": int, "name": str, "value": int},
                                foreign_keys=[("run_id", "runs", "id")])
    db["agent_counters"].create_index(["run_id", "name", "time_ms"])
    db["errors"].create({"run_id": int, "time_ms": int, "message": str}, foreign_keys=[("run_id", "runs", "id")])
    db["errors"].create_index(["run_id", "time_ms"])
    # What the agent could not count of the objects alive at attach, per family (a JDK hid it).
    db["notes"].create({"run_id": int, "family": str, "text": str}, pk=("run_id", "family", "text"),
                       foreign_keys=[("run_id", "runs", "id")])
    # `unclosed explain` samples of a JVM's memory, by component.
    db.execute("""
        CREATE TABLE memory_samples (
            pid INTEGER NOT NULL,
            run_id INTEGER REFERENCES runs(id),
            time_ms INTEGER NOT NULL,
            component TEXT NOT NULL,
            bytes INTEGER,
            PRIMARY KEY (pid, time_ms, component)
        )""")
