"""The SQLite database of recorded runs: what each drain file of docs/protocol.md says, kept.

One database holds any number of runs (one per `unclosed record`); nothing is overwritten.
The store is the only code that knows the schema: it takes drains in (drainfile.py parses them)
and answers every question about runs with plain records (dicts). sqlite-utils creates the
schema and answers simple queries; the bulk rows of a drain go through plain sqlite3
`executemany`, several times faster.
"""

import gc
import json
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from .drainfile import Drain, read_drain
from .errors import StoreError

APPLICATION = "unclosed"
SCHEMA_VERSION = 1
SQLITE_HEADER = b"SQLite format 3\x00"

# The facts of a run that `J` records (and the agent's status) may carry.
RUN_FACTS = ("mode", "java_version", "java_vendor", "java_home", "main_class", "agent_version",
             "tracking_since_ms", "sample")


def now_ms() -> int:
    return int(time.time() * 1000)


class Store:
    def __init__(self, path):
        self.path = Path(path)
        _check_ours(self.path)
        try:
            self.conn = sqlite3.connect(self.path)
            self.conn.execute("PRAGMA journal_mode=WAL")  # `report` can read while `record` writes
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.db = sqlite_utils.Database(self.conn)
            if "meta" not in self.db.table_names():
                with self.conn:
                    _create_schema(self.db)
            _add_new_columns(self.conn)
            _add_memory_samples(self.conn)
        except sqlite3.Error as e:
            raise StoreError(f"cannot use {self.path}: {e}") from None
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

    def begin_run(self, info: dict, pid: int, label: str | None = None) -> int:
        """Adds a run in state `recording`; `info` is the agent's status (or any run facts)."""
        facts = {key: info.get(key) for key in RUN_FACTS}
        with self.conn:
            run_id = self.db["runs"].insert(
                dict(facts, pid=pid, label=label, started_ms=now_ms(), status="recording", drains=0)
            ).last_pk
            self._adopt_earlier_stacks(run_id, pid, facts["tracking_since_ms"])
        return run_id

    def _adopt_earlier_stacks(self, run_id: int, pid: int, tracking_since_ms) -> None:
        """An agent sends each stack and thread once: when an earlier run in this database
        recorded the same agent (same pid, same tracking start), its stacks are this run's too."""
        earlier = self.conn.execute(
            "SELECT max(id) FROM runs WHERE pid = ? AND tracking_since_ms = ? AND id < ?",
            (pid, tracking_since_ms, run_id)).fetchone()[0]
        if earlier is None:
            return
        self.conn.execute(
            "INSERT INTO sites (run_id, agent_site_id, role, kind, family, culprit, frames, top_frame, detail) "
            "SELECT ?, agent_site_id, role, kind, family, culprit, frames, top_frame, detail FROM sites WHERE run_id = ?",
            (run_id, earlier))
        self.conn.execute("INSERT INTO threads (run_id, thread_id, name) "
                          "SELECT ?, thread_id, name FROM threads WHERE run_id = ?", (run_id, earlier))

    def end_run(self, run_id: int, status: str) -> None:
        if status not in ("complete", "incomplete"):
            raise ValueError(f"a run ends complete or incomplete, not {status!r}")
        with self.conn:
            self.db["runs"].update(run_id, {"status": status, "ended_ms": now_ms()})

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
        """Each creation site of a run (default: the latest) with its latest counters, worst first:
        by objects leaked, then held, then bytes leaked and held.

        `kinds` match a full class name or its simple name (`GZIPOutputStream`); `families` match
        exactly (`zlib`). Sites that released everything are left out unless `include_clean`.
        """
        run = self.run(run_id)
        now_ms = run["last_drain_ms"] or run["started_ms"]
        rows = self.db.query("""
            SELECT c.site_id, s.kind, s.family, s.culprit, s.frames, s.detail, c.opened, c.released, c.leaked, c.held,
                   c.bytes_leaked, c.bytes_held, c.oldest_held_ms, c.released_by_gc, max(c.drain)
            FROM site_counts c LEFT JOIN sites s ON s.run_id = c.run_id AND s.agent_site_id = c.site_id
            WHERE c.run_id = ? GROUP BY c.site_id""", [run["id"]])
        findings = []
        for row in rows:
            if not include_clean and not (row["leaked"] or row["held"]):
                continue
            kind = row["kind"] or ""
            if kinds and not any(kind == k or kind.endswith("." + k) for k in kinds):
                continue
            if families and row["family"] not in families:
                continue
            oldest = row["oldest_held_ms"]
            findings.append({
                "run": run["id"], "site_id": row["site_id"], "kind": row["kind"], "family": row["family"],
                "opened": row["opened"], "released": row["released"], "leaked": row["leaked"], "held": row["held"],
                "released_by_gc": row["released_by_gc"] or 0,
                "bytes_leaked": row["bytes_leaked"], "bytes_held": row["bytes_held"],
                "oldest_held_age_s": round(max(0, now_ms - oldest) / 1000, 1) if row["held"] and oldest else None,
                "culprit": row["culprit"], "detail": row["detail"], "frames": json.loads(row["frames"] or "[]"),
            })
        findings.sort(key=lambda f: (-f["leaked"], -f["held"], -(f["bytes_leaked"] + f["bytes_held"]), f["site_id"]))
        return findings

    def site_totals(self, run_id: int) -> dict:
        """What every creation site of a run opened, leaked and holds, and how many sites there are."""
        opened, leaked, held, sites = self.conn.execute(
            "SELECT coalesce(sum(opened), 0), coalesce(sum(leaked), 0), coalesce(sum(held), 0), count(*) "
            "FROM (SELECT opened, leaked, held, max(drain) FROM site_counts WHERE run_id = ? GROUP BY site_id)",
            [run_id]).fetchone()
        return {"opened": opened, "leaked": leaked, "held": held, "sites": sites}

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

    def dropped_counters(self, run_id: int) -> dict[str, int]:
        """The agent's `dropped_*` counters at the last drain that sent each, by name."""
        rows = self.conn.execute(
            "SELECT name, value, max(time_ms) FROM agent_counters WHERE run_id = ? AND name LIKE 'dropped_%' "
            "GROUP BY name", [run_id]).fetchall()
        return {name: value for name, value, _ in rows}

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
        """Stores one drain file in one transaction and returns what it said:
        {"events", "new_sites", "opened", "released", "leaked", "held", "sites", "errors"}
        where opened..sites are the run's totals so far (from the `C` records)."""
        path = Path(path)
        time_ms = now_ms() if time_ms is None else time_ms
        try:
            with _gc_paused():
                drain = read_drain(path)
                with self.conn:
                    self._store(run_id, drain, time_ms)
        except BaseException as e:
            self._last_counts.pop(run_id, None)  # it may hold counts the rollback undid
            if isinstance(e, sqlite3.Error):
                raise StoreError(f"cannot store {path.name} in {self.path}: {e}") from None
            raise
        totals = [sum(c[i] for c in drain.counts.values()) for i in range(4)]
        return {"events": drain.events, "new_sites": len(drain.sites), "opened": totals[0],
                "released": totals[1], "leaked": totals[2], "held": totals[3],
                "sites": len(drain.counts), "errors": len(drain.errors)}

    def _store(self, run_id: int, drain: Drain, time_ms: int) -> None:
        ex, many = self.conn.execute, self.conn.executemany
        facts = {k: v for k, v in drain.facts.items() if k in RUN_FACTS}
        drain_no = ex(f"UPDATE runs SET drains = drains + 1, last_drain_ms = ?{''.join(f', {k} = ?' for k in facts)} "
                      "WHERE id = ? RETURNING drains", (time_ms, *facts.values(), run_id)).fetchone()
        if drain_no is None:
            raise StoreError(f"{self.path} has no run {run_id}")
        if drain.exit_ms is not None:
            ex("UPDATE runs SET exit_ms = ? WHERE id = ?", (drain.exit_ms, run_id))
        many("INSERT INTO sites (run_id, agent_site_id, role, kind, family, culprit, frames, top_frame, detail) "
             "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, agent_site_id) DO UPDATE SET "
             "role = excluded.role, kind = excluded.kind, family = excluded.family, "
             "culprit = excluded.culprit, frames = excluded.frames, top_frame = excluded.top_frame, "
             "detail = excluded.detail",
             [(run_id, sid, role, kind, family, culprit, json.dumps(frames), frames[0] if frames else None, detail)
              for sid, (role, kind, family, culprit, frames, detail) in drain.sites.items()])
        many("INSERT OR REPLACE INTO threads (run_id, thread_id, name) VALUES (?, ?, ?)",
             [(run_id, tid, name) for tid, name in drain.threads])

        # The bulk: each line's fields go to SQLite as they are (the column types make them
        # integers); the run id is an int, safe inline. An object opened in this drain is one
        # insert; the end of one opened earlier updates its row. A reader keeps what it learns
        # of an object from each record (an R may come a drain before its O).
        run = int(run_id)
        keep_end = ("ON CONFLICT (run_id, object_id) DO UPDATE SET site_id = excluded.site_id, "
                    "thread_id = excluded.thread_id, created_ms = excluded.created_ms, bytes = excluded.bytes, "
                    "state = CASE excluded.state WHEN 'held' THEN state ELSE excluded.state END, "
                    "released_ms = coalesce(excluded.released_ms, released_ms), "
                    "release_site_id = coalesce(excluded.release_site_id, release_site_id), "
                    "release_thread_id = coalesce(excluded.release_thread_id, release_thread_id), "
                    "released_by_gc = coalesce(excluded.released_by_gc, released_by_gc), "
                    "reclaimed_ms = coalesce(excluded.reclaimed_ms, reclaimed_ms)")
        many(f"INSERT INTO objects (run_id, object_id, site_id, thread_id, created_ms, bytes, state) "
             f"VALUES ({run}, ?1, ?2, ?3, ?4, ?5, 'held') {keep_end}", drain.held)
        many(f"INSERT INTO objects (run_id, object_id, site_id, thread_id, created_ms, bytes, "
             f"release_site_id, release_thread_id, released_ms, state) "
             f"VALUES ({run}, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'released') {keep_end}", drain.opened_released)
        many(f"INSERT INTO objects (run_id, object_id, site_id, thread_id, created_ms, bytes, "
             f"release_thread_id, released_ms, released_by_gc, state) "
             f"VALUES ({run}, ?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, 'released') {keep_end}", drain.opened_freed)
        many(f"INSERT INTO objects (run_id, object_id, site_id, thread_id, created_ms, bytes, reclaimed_ms, state) "
             f"VALUES ({run}, ?1, ?2, ?3, ?4, ?5, ?6, 'leaked') {keep_end}", drain.opened_leaked)
        many(f"INSERT INTO objects (run_id, object_id, release_site_id, release_thread_id, released_ms, state) "
             f"VALUES ({run}, ?1, ?2, ?3, ?4, 'released') ON CONFLICT (run_id, object_id) DO UPDATE SET "
             "state = 'released', release_site_id = excluded.release_site_id, "
             "release_thread_id = excluded.release_thread_id, released_ms = excluded.released_ms", drain.released)
        many(f"INSERT INTO objects (run_id, object_id, release_thread_id, released_ms, released_by_gc, state) "
             f"VALUES ({run}, ?1, ?2, ?3, 1, 'released') ON CONFLICT (run_id, object_id) DO UPDATE SET "
             "state = 'released', release_thread_id = excluded.release_thread_id, "
             "released_ms = excluded.released_ms, released_by_gc = 1", drain.freed)
        many(f"INSERT INTO objects (run_id, object_id, reclaimed_ms, state) VALUES ({run}, ?1, ?2, 'leaked') "
             "ON CONFLICT (run_id, object_id) DO UPDATE SET state = 'leaked', reclaimed_ms = excluded.reclaimed_ms",
             drain.leaked)

        last = self._last_site_counts(run_id)
        changed = []
        for site_id, counts in drain.counts.items():
            if last.get(site_id) != counts:
                last[site_id] = counts
                changed.append((run_id, site_id, drain_no[0], time_ms, *counts))
        many("INSERT INTO site_counts (run_id, site_id, drain, time_ms, opened, released, leaked, held, "
             "bytes_held, bytes_leaked, oldest_held_ms, released_by_gc) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", changed)
        many("INSERT INTO agent_counters (run_id, time_ms, name, value) VALUES (?, ?, ?, ?)",
             [(run_id, time_ms, name, value) for name, value in drain.counters])
        many("INSERT INTO errors (run_id, time_ms, message) VALUES (?, ?, ?)",
             [(run_id, ms, message) for ms, message in drain.errors])

    def _last_site_counts(self, run_id: int) -> dict[int, tuple]:
        if run_id not in self._last_counts:
            # max(drain) makes SQLite take the other columns from each site's latest row.
            rows = self.conn.execute(
                "SELECT site_id, opened, released, leaked, held, bytes_held, bytes_leaked, oldest_held_ms, "
                "coalesce(released_by_gc, 0), max(drain) FROM site_counts WHERE run_id = ? GROUP BY site_id", (run_id,))
            self._last_counts[run_id] = {row[0]: tuple(row[1:9]) for row in rows}
        return self._last_counts[run_id]


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


def _check_ours(path: Path) -> None:
    """Refuses, without writing to it, a file that is not an unclosed database."""
    if path.is_dir():
        raise StoreError(f"{path} is a directory, not a database file")
    if not path.parent.is_dir():
        raise StoreError(f"cannot create {path}: {path.parent} is not a directory")
    try:
        with open(path, "rb") as f:
            header = f.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        return  # a new database
    except OSError as e:
        raise StoreError(f"cannot read {path}: {e.strerror}") from None
    if not header:
        return  # an empty file: SQLite makes a new database of it
    if header != SQLITE_HEADER:
        raise StoreError(f"{path} is not an unclosed database (not an SQLite file)")
    # Read-only, and with no writer at work (no -wal file) also immutable: SQLite then creates
    # no -wal and -shm files beside a database it only looks at.
    immutable = "" if Path(f"{path}-wal").exists() else "&immutable=1"
    try:
        conn = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro{immutable}", uri=True)
        try:
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        finally:
            conn.close()
    except sqlite3.OperationalError as e:
        if "no such table" in str(e):
            raise StoreError(f"{path} is an SQLite database of another application, not of unclosed") from None
        raise StoreError(f"cannot open {path}: {e}") from None
    except sqlite3.DatabaseError as e:
        raise StoreError(f"{path} is corrupt ({e})") from None
    if meta.get("application") != APPLICATION:
        raise StoreError(f"{path} is an SQLite database of another application, not of unclosed")
    if meta.get("schema_version") != str(SCHEMA_VERSION):
        raise StoreError(f"{path} has schema version {meta.get('schema_version')}; "
                         f"this unclosed reads version {SCHEMA_VERSION}")


# Columns added since schema version 1 was first written: a database made before gets them on
# opening (NULL in the rows it had). Older readers name their columns and never see these.
NEW_COLUMNS = {"sites": ["detail TEXT"], "objects": ["released_by_gc INTEGER"],
               "site_counts": ["released_by_gc INTEGER"],
               # exit_ms: when the JVM itself ended normally (its data folder's Z record); sample:
               # the agent tracked 1 object in this many.
               "runs": ["exit_ms INTEGER", "sample INTEGER"]}


def _add_new_columns(conn: sqlite3.Connection) -> None:
    for table, columns in NEW_COLUMNS.items():
        have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        for column in columns:
            if column.split()[0] not in have:
                with conn:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {column}")


def _add_memory_samples(conn: sqlite3.Connection) -> None:
    """`unclosed explain` samples of a JVM's memory, by component; added to a database made
    before the table existed, on opening (schema version unchanged: older readers ignore it)."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'memory_samples'").fetchone():
        return
    with conn:
        conn.execute("""
            CREATE TABLE IF NOT EXISTS memory_samples (
                pid INTEGER NOT NULL,
                run_id INTEGER REFERENCES runs(id),
                time_ms INTEGER NOT NULL,
                component TEXT NOT NULL,
                bytes INTEGER,
                PRIMARY KEY (pid, time_ms, component)
            )""")


def _create_schema(db: sqlite_utils.Database) -> None:
    db["meta"].create({"key": str, "value": str}, pk="key")
    db["meta"].insert_all([{"key": "application", "value": APPLICATION},
                           {"key": "schema_version", "value": str(SCHEMA_VERSION)}])
    db["runs"].create({
        "id": int, "pid": int, "label": str, "mode": str, "java_version": str, "java_vendor": str,
        "java_home": str, "main_class": str, "agent_version": str, "tracking_since_ms": int,
        "started_ms": int, "ended_ms": int, "status": str, "last_drain_ms": int, "drains": int,
    }, pk="id", not_null={"status", "drains"})
    # One row per stack the agent reported: creation (role c) or release (role r). Other tables
    # name a stack as the agent does, by (run_id, site_id = agent_site_id): object rows then go
    # in as the drain file has them, with no lookup.
    db["sites"].create({
        "id": int, "run_id": int, "agent_site_id": int, "role": str, "kind": str, "family": str,
        "culprit": str, "frames": str, "top_frame": str, "detail": str,
    }, pk="id", foreign_keys=[("run_id", "runs", "id")], not_null={"run_id", "agent_site_id", "role"})
    db["sites"].create_index(["run_id", "agent_site_id"], unique=True)
    db["threads"].create({"run_id": int, "thread_id": int, "name": str}, pk=("run_id", "thread_id"),
                         foreign_keys=[("run_id", "runs", "id")])
    # The hottest table, so: WITHOUT ROWID (which sqlite-utils cannot say) keeps rows in the
    # primary-key tree itself, and there is no second index and no CHECK (each would cost as much
    # as the insert). state is 'held', 'released' or 'leaked'.
    db.execute("""
        CREATE TABLE objects (
            run_id INTEGER NOT NULL REFERENCES runs(id),
            object_id INTEGER NOT NULL,
            site_id INTEGER,
            thread_id INTEGER,
            created_ms INTEGER,
            bytes INTEGER,
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
    # Counters of a creation site over time: a row whenever a drain changed them, so the row
    # with the highest drain number is the site's current truth.
    db.execute("""
        CREATE TABLE site_counts (
            run_id INTEGER NOT NULL REFERENCES runs(id),
            site_id INTEGER NOT NULL,
            drain INTEGER NOT NULL,
            time_ms INTEGER NOT NULL,
            opened INTEGER, released INTEGER, leaked INTEGER, held INTEGER,
            bytes_held INTEGER, bytes_leaked INTEGER, oldest_held_ms INTEGER, released_by_gc INTEGER,
            PRIMARY KEY (run_id, site_id, drain),
            FOREIGN KEY (run_id, site_id) REFERENCES sites(run_id, agent_site_id)
        )""")
    db["agent_counters"].create({"run_id": int, "time_ms": int, "name": str, "value": int},
                                foreign_keys=[("run_id", "runs", "id")])
    db["agent_counters"].create_index(["run_id", "name", "time_ms"])
    db["errors"].create({"run_id": int, "time_ms": int, "message": str}, foreign_keys=[("run_id", "runs", "id")])
    db["errors"].create_index(["run_id", "time_ms"])
