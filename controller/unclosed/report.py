"""What a run found: creation sites ranked by what they leaked or still hold, as text or JSON."""

import json
import time

from .collapsed import write_collapsed
from .errors import UnclosedError
from .store import Store

FRAMES_SHOWN = 8


def site_findings(store: Store, run_id: int | None = None, kinds=None, families=None,
                  include_clean: bool = False) -> list[dict]:
    """Each creation site of a run (default: the latest) with its latest counters, worst first:
    by objects leaked, then held, then bytes leaked and held.

    `kinds` match a full class name or its simple name (`GZIPOutputStream`); `families` match
    exactly (`zlib`). Sites that released everything are left out unless `include_clean`.
    """
    run = store.run(run_id)
    now_ms = run["last_drain_ms"] or run["started_ms"]
    # max(drain) makes SQLite take the other columns from each site's latest row.
    rows = store.db.query("""
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


FORMATS = ("text", "json", "html", "collapsed")


def write_report(store: Store, out, format: str = "text", run_id: int | None = None, kinds=None,
                 families=None, include_clean: bool = False, value: str = "bytes") -> list[dict]:
    """Writes the report of one run to the text stream `out`; returns the sites it lists.
    `value` is what `collapsed` counts (collapsed.VALUES: bytes, leaked, ...)."""
    if format not in FORMATS:
        raise UnclosedError(f"unknown report format {format!r} ({', '.join(FORMATS[:-1])} or {FORMATS[-1]})")
    if format == "html":
        from .html import write_html_report  # html imports this module
        return write_html_report(store, run_id, out, kinds, families, include_clean)
    run = store.run(run_id)
    findings = site_findings(store, run["id"], kinds, families, include_clean)
    if format == "collapsed":
        write_collapsed(findings, out, value)
    elif format == "json":
        json.dump({"runs": [dict(run, direct_pool=direct_pool(store, run["id"]))], "sites": findings}, out, indent=2)
        out.write("\n")
    else:
        _write_text(store, run, findings, out, kinds, families)
    return findings


def _write_text(store: Store, run: dict, findings: list[dict], out, kinds, families) -> None:
    w = out.write
    w(f"unclosed: run {run['id']} of {store.path.name}: pid {run['pid']} {run['main_class'] or '(main class unknown)'}"
      f"{' [' + run['label'] + ']' if run['label'] else ''}, "
      f"JDK {run['java_version'] or '?'} ({run['java_vendor'] or '?'}), mode {run['mode'] or '?'}\n")
    ended = run["ended_ms"] or run["last_drain_ms"] or run["started_ms"]
    w(f"recorded {_clock(run['started_ms'])} for {_seconds((ended - run['started_ms']) / 1000)}, "
      f"{_count(run['drains'], 'drain')}, {run['status']}\n")
    if run["mode"] == "attach" and run["tracking_since_ms"]:
        w(f"tracking began when the agent was attached, {_clock(run['tracking_since_ms'])}: "
          "objects created before then are not known\n")
    elif run["tracking_since_ms"]:
        w(f"tracking began at JVM start, {_clock(run['tracking_since_ms'])}\n")
    errors = store.db.execute("SELECT count(*) FROM errors WHERE run_id = ?", [run["id"]]).fetchone()[0]
    if errors:
        w(f"the agent reported {errors} errors of its own (table `errors`)\n")
    if (run.get("sample") or 1) > 1:
        n = run["sample"]
        w(f"sampled: the agent tracked 1 object in {n}; the counts and bytes below are of tracked objects, "
          f"so about {n} times as many in all (an estimate; a site that leaked only a few times may be missing)\n")
    dropped = _dropped(store, run["id"])
    if dropped:
        w(f"the agent dropped, past its caps (docs/protocol.md): {dropped}\n")
    pool = direct_pool(store, run["id"])
    if pool and (pool["count"] or pool["held_by_sites"]) and (not families or "direct" in families):
        share = f", {pool['bytes_held_by_sites'] / pool['total_capacity']:.0%} of it" if pool["total_capacity"] else ""
        w(f"direct buffers: the JVM's pool holds {pool['count']} ({human_bytes(pool['memory_used'])} used, "
          f"capacity {human_bytes(pool['total_capacity'])}); the direct sites hold {pool['held_by_sites']} "
          f"({human_bytes(pool['bytes_held_by_sites'])}){share}\n")
    w("\n")

    if not findings:
        w(_nothing_found(store, run, kinds, families) + "\n")
        return

    for f in findings:
        w(f"{f['kind'] or '(stack sent before this run)'}{' (' + f['family'] + ')' if f['family'] else ''}: "
          f"{_counts(f)}\n")
        w(f"  culprit: {f['culprit'] or '(no frame outside the JDK)'}\n")
        if f["detail"]:
            w(f"  {f['detail']}\n")
        for frame in f["frames"][:FRAMES_SHOWN]:
            w(f"    at {frame}\n")
        if len(f["frames"]) > FRAMES_SHOWN:
            w(f"    ... {len(f['frames']) - FRAMES_SHOWN} more\n")
        w("\n")
    total = {key: sum(f[key] for f in findings)
             for key in ("opened", "leaked", "held", "bytes_leaked", "bytes_held")}
    if total["bytes_leaked"] or total["bytes_held"] or not (total["leaked"] or total["held"]):
        w(f"total: {_count(len(findings), 'site')}: leaked {total['leaked']} ({human_bytes(total['bytes_leaked'])}) "
          f"held {total['held']} ({human_bytes(total['bytes_held'])}) of {total['opened']} opened\n")
    else:  # only kinds without a size (streams)
        w(f"total: {_count(len(findings), 'site')}: leaked {total['leaked']} held {total['held']} of {total['opened']} opened\n")


def _counts(f: dict) -> str:
    """`leaked 5 (1.2 MiB) held 2 (512 KiB, oldest 3s) of 9 opened`. Direct buffers have no
    leaked part (the GC freeing one is a normal end) but say how many the GC freed; kinds with
    no size (streams, rules without bytes) show none."""
    sized = bool(f["bytes_leaked"] or f["bytes_held"]) or not (f["leaked"] or f["held"])
    oldest = f"oldest {_seconds(f['oldest_held_age_s'])}" if f["oldest_held_age_s"] is not None else ""
    held = ", ".join(part for part in (human_bytes(f["bytes_held"]) if sized else "", oldest) if part)
    text = f"held {f['held']}{f' ({held})' if held else ''} of {f['opened']} opened"
    if f["family"] == "direct":
        return f"{text}, released {f['released']} ({f['released_by_gc']} by the GC)"
    leaked = f" ({human_bytes(f['bytes_leaked'])})" if sized else ""
    return f"leaked {f['leaked']}{leaked} {text}"


def direct_pool(store: Store, run_id: int) -> dict | None:
    """The JVM's own direct buffer pool at the run's last drain (count, memory_used,
    total_capacity), beside what the run's direct sites hold; None for a run without the figures."""
    figures = dict(store.db.execute(
        "SELECT name, value FROM agent_counters WHERE run_id = ? AND name LIKE 'direct_pool_%' "
        "AND time_ms = (SELECT max(time_ms) FROM agent_counters WHERE run_id = ? AND name = 'direct_pool_count')",
        [run_id, run_id]).fetchall())
    if "direct_pool_count" not in figures:
        return None
    held, held_bytes = store.db.execute(
        "SELECT coalesce(sum(held), 0), coalesce(sum(bytes_held), 0) FROM (SELECT c.held, c.bytes_held, max(c.drain) "
        "FROM site_counts c JOIN sites s ON s.run_id = c.run_id AND s.agent_site_id = c.site_id "
        "WHERE c.run_id = ? AND s.family = 'direct' GROUP BY c.site_id)", [run_id]).fetchone()
    return {"count": figures["direct_pool_count"], "memory_used": figures.get("direct_pool_used", 0),
            "total_capacity": figures.get("direct_pool_capacity", 0), "held_by_sites": held,
            "bytes_held_by_sites": held_bytes}


def _nothing_found(store: Store, run: dict, kinds, families) -> str:
    opened, leaked, held, sites = store.db.execute(
        "SELECT coalesce(sum(opened), 0), coalesce(sum(leaked), 0), coalesce(sum(held), 0), count(*) "
        "FROM (SELECT opened, leaked, held, max(drain) FROM site_counts WHERE run_id = ? GROUP BY site_id)",
        [run["id"]]).fetchone()
    if not sites:
        return "Nothing tracked: no object of a tracked kind was opened."
    if leaked or held:
        asked = ", ".join([*(kinds or []), *(families or [])])
        return f"Nothing unreleased of {asked}; the run has {leaked} leaked and {held} held objects of other kinds."
    return f"Nothing left unreleased: all {opened} objects opened at {_count(sites, 'site')} were released."


DROPPED = {
    "dropped_events": "events (max_events: some object rows are missing; site totals are exact)",
    "dropped_sites": "stacks (max_sites: folded into one overflow site per kind)",
    "dropped_objects": "objects (max_tracked: not tracked at all)",
}


def _dropped(store: Store, run_id: int) -> str:
    """What the agent's counters say it dropped, by the last drain: '12 events, 3 objects'."""
    rows = store.db.execute(
        "SELECT name, value, max(time_ms) FROM agent_counters WHERE run_id = ? AND name LIKE 'dropped_%' "
        "GROUP BY name", [run_id]).fetchall()
    return ", ".join(f"{value} {DROPPED[name]}" for name, value, _ in rows if value and name in DROPPED)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def human_bytes(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            break
        value /= 1024
    return f"{n} B" if unit == "B" else f"{value:.1f} {unit}".replace(".0 ", " ")


def _seconds(s: float) -> str:
    if s < 120:
        return f"{s:.0f}s" if s >= 10 else f"{s:.1f}s".replace(".0s", "s")
    if s < 7200:
        return f"{s / 60:.0f}m"
    return f"{s / 3600:.1f}h"


def _clock(ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ms / 1000))
