"""The SQLite database of recorded runs: what each drain file of docs/protocol.md says, kept.

One database holds any number of runs (one per `unclosed record`); nothing is overwritten.
sqlite-utils creates the schema and answers simple queries; the bulk rows of a drain go through
plain sqlite3 `executemany`, several times faster.
"""

import gc
import json
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

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
                drain = _read_drain(path)
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

    def _store(self, run_id: int, drain: "Drain", time_ms: int) -> None:
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


class Drain:
    """The records of one drain file. Object events stay lists of text fields, as SQLite takes them."""

    def __init__(self):
        self.facts: dict[str, str] = {}
        self.sites: dict[int, list] = {}  # agent site id -> [role, kind, family, culprit, frames, detail]
        self.threads: list[tuple] = []
        self.events = 0
        # Objects opened in this drain, by how they stand at its end. O fields: object, site,
        # thread, created_ms, bytes; then R's site, thread, released_ms, G's thread, released_ms
        # or L's reclaimed_ms.
        self.held: list[list[str]] = []
        self.opened_released: list[list[str]] = []
        self.opened_freed: list[list[str]] = []
        self.opened_leaked: list[list[str]] = []
        # Ends of objects opened in an earlier drain (or whose O was dropped): the R, G or L fields.
        self.released: list[list[str]] = []
        self.freed: list[list[str]] = []
        self.leaked: list[list[str]] = []
        self.counts: dict[int, tuple] = {}  # creation site -> the 8 C totals (released_by_gc 0 if absent)
        self.counters: list[tuple] = []
        self.errors: list[tuple] = []
        self.exit_ms: int | None = None  # a Z record: the JVM exited normally, this was its last drain


def _read_drain(path: Path) -> Drain:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        raise StoreError(f"cannot read drain file {path}: {e.strerror}") from None
    lines = text.split("\n")
    if lines[0] != "V\t1":
        raise StoreError(f"{path} is not a drain file of format 1 (its first line is {lines[0][:40]!r})")
    # Most lines are O, R and L: sort them out with as little work per line as possible.
    x_lines, o_lines, r_lines, l_lines, g_lines, rest = [], [], [], [], [], []
    x_add, o_add, r_add, l_add, g_add = x_lines.append, o_lines.append, r_lines.append, l_lines.append, g_lines.append
    rest_add = rest.append
    for line in lines:
        tag = line[:2]
        if tag == "X\t":
            x_add(line)
        elif tag == "O\t":
            o_add(line)
        elif tag == "R\t":
            r_add(line)
        elif tag == "L\t":
            l_add(line)
        elif tag == "G\t":
            g_add(line)
        else:
            rest_add(line)
    d = Drain()
    d.events = 2 * len(x_lines) + len(o_lines) + len(r_lines) + len(l_lines) + len(g_lines)
    # X: an O and its R in one line, fields in the order of an O's followed by the R's.
    d.opened_released = [line[2:].split("\t") for line in x_lines]
    opened = {fields[0]: fields for fields in (line[2:].split("\t") for line in o_lines)}
    take = opened.pop
    for fields in (line[2:].split("\t") for line in r_lines):
        o = take(fields[0], None)
        if o is None:
            d.released.append(fields)
        else:
            d.opened_released.append(o + fields[1:])
    for fields in (line[2:].split("\t") for line in g_lines):
        o = take(fields[0], None)
        if o is None:
            d.freed.append(fields)
        else:
            d.opened_freed.append(o + fields[1:])
    for fields in (line[2:].split("\t") for line in l_lines):
        o = take(fields[0], None)
        if o is None:
            d.leaked.append(fields)
        else:
            d.opened_leaked.append(o + fields[1:])
    d.held = list(opened.values())
    _parse_other(rest, d, path)
    return d


def _parse_other(lines: list[str], d: Drain, path: Path) -> None:
    line = ""
    try:
        for line in lines:
            r = line.split("\t")
            tag = r[0]
            if tag == "C":
                counts = tuple(int(x) for x in r[2:10])  # released_by_gc, the 8th, is newer
                if len(counts) == 7:
                    counts += (0,)
                if len(counts) != 8:
                    raise IndexError
                d.counts[int(r[1])] = counts
            elif tag == "S":
                detail = r[6] if len(r) > 6 else ""  # newer than the other fields
                d.sites[int(r[1])] = [r[2], r[3] or None, r[4] or None, r[5] or None, [], detail or None]
            elif tag == "F":
                frames = d.sites[int(r[1])][4]
                index = int(r[2])
                frames.extend([None] * (index + 1 - len(frames)))
                frames[index] = r[3]
            elif tag == "T":
                d.threads.append((int(r[1]), r[2]))
            elif tag == "J":
                d.facts[r[1]] = r[2]
            elif tag == "N":
                d.counters.append((r[1], int(r[2])))
            elif tag == "E":
                d.errors.append((int(r[1]), r[2]))
            elif tag == "Z":
                d.exit_ms = int(r[1])
            # V (the first line), empty lines and records newer than this controller: nothing to keep
    except (IndexError, ValueError, KeyError):
        raise StoreError(f"{path}: malformed record {line[:60]!r}") from None


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
