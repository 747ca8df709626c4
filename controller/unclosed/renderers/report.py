"""`unclosed report` as text, JSON (a contract for scripts: README) and folded stacks."""

import json

from ..collapsed import folded_stacks
from ..report import RunReport
from ..units import clock, human_bytes, seconds

FRAMES_SHOWN = 8

DROPPED = {
    "dropped_events": "events (max_events: some object rows are missing; site totals are exact)",
    "dropped_sites": "stacks (max_sites: folded into one overflow site per kind)",
    "dropped_objects": "objects (max_tracked: not tracked at all)",
}


def write_json(report: RunReport, out) -> None:
    json.dump({"runs": [dict(report.run, direct_pool=report.direct_pool)], "sites": report.sites}, out, indent=2)
    out.write("\n")


def write_collapsed(report: RunReport, out) -> None:
    """One line per stack, root first: `frame;frame;frame VALUE` (collapsed.py)."""
    for stack, amount in folded_stacks(report.sites, report.value):
        out.write(f"{stack} {amount}\n")


def write_text(report: RunReport, out) -> None:
    w = out.write
    run, findings = report.run, report.sites
    w(f"unclosed: run {run['id']} of {report.db.name}: pid {run['pid']} {run['main_class'] or '(main class unknown)'}"
      f"{' [' + run['label'] + ']' if run['label'] else ''}, "
      f"JDK {run['java_version'] or '?'} ({run['java_vendor'] or '?'}), mode {run['mode'] or '?'}\n")
    ended = run["ended_ms"] or run["last_drain_ms"] or run["started_ms"]
    w(f"recorded {clock(run['started_ms'])} for {seconds((ended - run['started_ms']) / 1000)}, "
      f"{_count(run['drains'], 'drain')}, {run['status']}\n")
    if run["mode"] == "attach" and run["tracking_since_ms"]:
        w(f"tracking began when the agent was attached, {clock(run['tracking_since_ms'])}: "
          "objects created before then are not known\n")
    elif run["tracking_since_ms"]:
        w(f"tracking began at JVM start, {clock(run['tracking_since_ms'])}\n")
    if report.errors:
        w(f"the agent reported {report.errors} errors of its own (table `errors`)\n")
    if (run.get("sample") or 1) > 1:
        n = run["sample"]
        w(f"sampled: the agent tracked 1 object in {n}; the counts and bytes below are of tracked objects, "
          f"so about {n} times as many in all (an estimate; a site that leaked only a few times may be missing)\n")
    dropped = ", ".join(f"{value} {DROPPED[name]}" for name, value in report.counters.items() if value and name in DROPPED)
    if dropped:
        w(f"the agent dropped, past its caps (docs/protocol.md): {dropped}\n")
    pool = report.direct_pool
    if pool and (pool["count"] or pool["held_by_sites"]) and (not report.families or "direct" in report.families):
        share = f", {pool['bytes_held_by_sites'] / pool['total_capacity']:.0%} of it" if pool["total_capacity"] else ""
        w(f"direct buffers: the JVM's pool holds {pool['count']} ({human_bytes(pool['memory_used'])} used, "
          f"capacity {human_bytes(pool['total_capacity'])}); the direct sites hold {pool['held_by_sites']} "
          f"({human_bytes(pool['bytes_held_by_sites'])}){share}\n")
    w("\n")

    if not findings:
        w(_nothing_found(report) + "\n")
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
    oldest = f"oldest {seconds(f['oldest_held_age_s'])}" if f["oldest_held_age_s"] is not None else ""
    held = ", ".join(part for part in (human_bytes(f["bytes_held"]) if sized else "", oldest) if part)
    text = f"held {f['held']}{f' ({held})' if held else ''} of {f['opened']} opened"
    if f["family"] == "direct":
        return f"{text}, released {f['released']} ({f['released_by_gc']} by the GC)"
    leaked = f" ({human_bytes(f['bytes_leaked'])})" if sized else ""
    return f"leaked {f['leaked']}{leaked} {text}"


def _nothing_found(report: RunReport) -> str:
    totals = report.totals
    if not totals["sites"]:
        return "Nothing tracked: no object of a tracked kind was opened."
    if totals["leaked"] or totals["held"]:
        asked = ", ".join([*report.kinds, *report.families])
        return (f"Nothing unreleased of {asked}; the run has {totals['leaked']} leaked and {totals['held']} "
                "held objects of other kinds.")
    return (f"Nothing left unreleased: all {totals['opened']} objects opened at {_count(totals['sites'], 'site')} "
            "were released.")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
