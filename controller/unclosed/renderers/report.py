"""`unclosed report` as text, JSON (a contract for scripts: README) and folded stacks. Text and
folded stacks carry names from class metadata (frames, kinds, tests), escaped for a terminal
(units.printable)."""

import json
from collections import Counter

from ..collapsed import folded_stacks
from ..findings import Finding, is_runner, sum_counts
from ..report import FleetReport, JvmReport, RunReport
from ..signature import culprit_index
from ..units import clock, counted_names, human_bytes, plural, printable, seconds

FRAMES_SHOWN = 8
TESTS_SHOWN = 3

DROPPED = {
    "dropped_events": "events (max_events: some object rows are missing; site totals are exact)",
    "dropped_sites": "stacks (max_sites: folded into one overflow site per kind)",
    "dropped_objects": "objects (max_tracked: not tracked at all)",
}


def write_json(report: RunReport, out) -> None:
    json.dump({"runs": [jvm.as_record() for jvm in report.jvms],
               "findings": [finding.as_record() for finding in report.findings],
               "sites": report.sites, "preexisting": report.preexisting}, out, indent=2)
    out.write("\n")


def write_collapsed(report: RunReport, out) -> None:
    """One line per stack, root first: `frame;frame;frame VALUE` (collapsed.py)."""
    for stack, amount in folded_stacks(report.creation_sites, report.value):
        out.write(f"{printable(stack)} {amount}\n")


def write_text(report: RunReport, out) -> None:
    def line(text: str = "") -> None:
        out.write(printable(text) + "\n")

    for jvm in report.jvms:
        _header(report, jvm, line)
    line()
    if report.by == "site":
        _sites(report, line)
    elif report.findings:
        for finding in report.findings:
            _finding(report, finding, line)
            line()
        sites = [site for finding in report.findings for site in finding.sites]
        line(f"total: {plural(len(report.findings), 'finding')} ({plural(len(sites), 'site')}): "
             f"{_total(sum_counts(sites))}{_sampled(report)}")
    else:
        line(_nothing_found(report))
    _apart(report, line)


def _header(report: RunReport, jvm: JvmReport, line) -> None:
    run = jvm.run
    line(f"unclosed: run {run['id']} of {report.db.name}: pid {run['pid']} {run['main_class'] or '(main class unknown)'}"
         f"{' [' + run['label'] + ']' if run['label'] else ''}, "
         f"JDK {run['java_version'] or '?'} ({run['java_vendor'] or '?'}), mode {run['mode'] or '?'}")
    line(f"recorded {clock(jvm.start_ms)} for {seconds(jvm.duration_s)}, {plural(run['drains'], 'drain')}, "
         f"{run['status']}")
    if run["mode"] == "attach" and run["tracking_since_ms"]:
        line(f"tracking began when the agent was attached, {clock(run['tracking_since_ms'])}: objects created "
             "before then have no creation stacks (those still alive then are counted apart, below)")
    elif run["tracking_since_ms"]:
        line(f"tracking began at JVM start, {clock(run['tracking_since_ms'])}")
    if jvm.errors:
        line(f"the agent reported {jvm.errors} errors of its own (table `errors`)")
    if jvm.sampled:
        n = run["sample"]
        line(f"{jvm.sampled}: the agent tracked 1 object in {n}; the counts and bytes below are of tracked objects, "
             f"so about {n} times as many in all (an estimate; a site that leaked only a few times may be missing)")
    dropped = ", ".join(f"{value} {DROPPED[name]}" for name, value in jvm.counters.items() if value and name in DROPPED)
    if dropped:
        line(f"the agent dropped, past its caps (docs/protocol.md): {dropped}")
    pool = jvm.direct_pool
    if pool and (pool["count"] or pool["held_by_sites"]) and (not report.families or "direct" in report.families):
        share = f", {pool['bytes_held_by_sites'] / pool['total_capacity']:.0%} of it" if pool["total_capacity"] else ""
        line(f"direct buffers: the JVM's pool holds {pool['count']} ({human_bytes(pool['memory_used'])} used, "
             f"capacity {human_bytes(pool['total_capacity'])}); the direct sites hold {pool['held_by_sites']} "
             f"({human_bytes(pool['bytes_held_by_sites'])}){share}")


def _finding(report: RunReport, finding: Finding, line) -> None:
    jvms = f", in {plural(len(finding.runs), 'JVM')}" if len(report.jvms) > 1 else ""
    _finding_lines(finding, report.include_clean, jvms, finding.culprit, line)


def _finding_lines(finding: Finding, include_clean: bool, where: str, culprit: str | None, line) -> None:
    """The kind and counts, where it was seen, the culprit, the top tests, the top path from the
    culprit down, and how many more paths reach the culprit."""
    line(f"{_kind(finding.kind, finding.family)}: {_counts(finding.as_record(), include_clean)}{where}")
    line(f"  culprit: {culprit or '(not known)'}")
    paths = finding.paths
    if paths[0]["detail"]:
        line(f"  {paths[0]['detail']}")
    if finding.tests:
        line(f"  tests: {counted_names(finding.tests, TESTS_SHOWN)}")
    frames = paths[0]["frames"]
    for text in _folded(frames[culprit_index({"frames": frames, "culprit": finding.culprit}) + 1:]):
        line(text)
    if len(paths) > 1:
        line(f"  and {plural(len(paths) - 1, 'more path')}")


def write_fleet_text(fleet: FleetReport, out) -> None:
    """A fleet: a line of the sources, then each finding merged across them, seen in the most first."""
    def line(text: str = "") -> None:
        out.write(printable(text) + "\n")

    jvms = Counter(rf.source for rf in fleet.runs)
    line(f"unclosed: {plural(len(fleet.sources), 'source')}, {plural(len(fleet.runs), 'JVM')}: "
         + ", ".join(f"{source} ({plural(jvms[source], 'JVM')})" for source in fleet.sources))
    line()
    if not fleet.findings:
        line(f"Nothing left unreleased in any of them{' (' + fleet.sampled + ')' if fleet.sampled else ''}.")
        return
    for finding in fleet.findings:
        where = f"; seen in {finding.sources} of {len(fleet.sources)} sources ({plural(finding.jvms, 'JVM')})"
        culprits = finding.culprits
        culprit = (culprits[0] + (f" (and {plural(len(culprits) - 1, 'more line')} of its method)" if len(culprits) > 1
                                  else "")) if culprits else None
        _finding_lines(finding, fleet.include_clean, where, culprit, line)
        line()
    sites = [site for finding in fleet.findings for site in finding.sites]
    line(f"total: {plural(len(fleet.findings), 'finding')}: {_total(sum_counts(sites))}"
         f"{' (' + fleet.sampled + ')' if fleet.sampled else ''}")


def write_fleet_json(fleet: FleetReport, out) -> None:
    """`sources`, `runs` (each with its `source`) and `findings`, each with the report's finding
    fields but `runs` and `sites`, which are of one database: `sources`, `jvms`, `culprits` and
    `members` ({source, run, site_id}) instead."""
    jvms = Counter(rf.source for rf in fleet.runs)
    findings = []
    for finding in fleet.findings:
        record = {k: v for k, v in finding.as_record().items() if k not in ("runs", "sites")}
        findings.append(dict(record, sources=finding.sources, jvms=finding.jvms, culprits=finding.culprits,
                             members=[{"source": rf.source, "run": site["run"], "site_id": site["site_id"]}
                                      for rf, member in finding.members for site in member.sites]))
    json.dump({"sources": [{"source": source, "jvms": jvms[source]} for source in fleet.sources],
               "runs": [dict(rf.run, source=rf.source) for rf in fleet.runs], "findings": findings}, out, indent=2)
    out.write("\n")


def _folded(frames: list[str]) -> list[str]:
    """`    at FRAME` lines, the frames of test runners and reflection folded into one `    ...`
    line, FRAMES_SHOWN lines at most."""
    lines: list[str] = []
    for frame in frames:
        if not is_runner(frame):
            lines.append(f"    at {frame}")
        elif not lines or lines[-1] != "    ...":
            lines.append("    ...")
    if len(lines) > FRAMES_SHOWN:
        lines = lines[:FRAMES_SHOWN] + [f"    ... {len(lines) - FRAMES_SHOWN} more"]
    return lines


def _sites(report: RunReport, line) -> None:
    """Every creation site listed, worst first, with its top frames (`--by site`)."""
    sites = report.creation_sites
    if not sites:
        line(_nothing_found(report))
        return
    for site in sites:
        line(f"{_kind(site['kind'], site['family'])}: {_counts(site, report.include_clean)}")
        line(f"  culprit: {site['culprit'] or '(no frame outside the JDK)'}")
        if site["detail"]:
            line(f"  {site['detail']}")
        for frame in site["frames"][:FRAMES_SHOWN]:
            line(f"    at {frame}")
        if len(site["frames"]) > FRAMES_SHOWN:
            line(f"    ... {len(site['frames']) - FRAMES_SHOWN} more")
        line()
    line(f"total: {plural(len(sites), 'site')}: {_total(sum_counts(sites))}{_sampled(report)}")


def _apart(report: RunReport, line) -> None:
    """What the report counts apart from its findings: objects in flight, the JDK's own sites,
    and what existed before tracking began."""
    in_flight = report.in_flight
    if in_flight["objects"]:
        size = f" ({human_bytes(in_flight['bytes'])})" if in_flight["bytes"] else ""
        line(f"in flight: {in_flight['objects']} objects{size} created within a drain interval of the last drain, "
             f"most likely still in use: not counted as held{'' if report.include_clean else ' (--all lists them)'}")
    jdk = sum_counts(report.grouped.jdk_internal)
    if (jdk["leaked"] or jdk["held"]) and report.by != "site":
        line(f"the JDK's own: {plural(len(report.grouped.jdk_internal), 'site')} with no frame outside the JDK (its "
             f"caches, such as temporary direct buffers): {_total(jdk)}; not findings (--by site lists them)")
    for entry in report.preexisting:
        size = f" (~{human_bytes(entry['bytes'])})" if entry["bytes"] else ""
        what = f"{entry['count']:,} {entry['kind']}{' (' + entry['detail'] + ')' if entry['detail'] else ''}"
        if entry["held"] == entry["count"]:
            line(f"existed before tracking: {what}{size}, no creation stacks")
            continue
        gone = ", ".join(part for part in (f"{entry['released']:,} released" if entry["released"] else "",
                                           f"{entry['leaked']:,} reclaimed unreleased" if entry["leaked"] else "")
                         if part)
        still = f"{entry['held']:,}" if entry["held"] else "none"
        line(f"existed before tracking: {what}, no creation stacks: {still} still held at the end{size}, {gone}")
    if report.zip_pool_excluded:
        line(f"existed before tracking, not counted: {report.zip_pool_excluded:,} Inflaters that ZipFile pools for "
             "open jar and zip files (it ends them itself)")
    for note in report.notes:
        line(f"existed before tracking, not counted ({note['family']}): {note['text']}")


def _kind(kind: str | None, family: str | None) -> str:
    return f"{kind or '(stack sent before this run)'}{' (' + family + ')' if family else ''}"


def _counts(f: dict, in_flight: bool = False) -> str:
    """`leaked 5 (1.2 MiB) held 2 (512 KiB, oldest 3s) of 9 opened`. Direct buffers have no
    leaked part (the GC freeing one is a normal end) but say how many the GC freed; kinds with
    no size (streams, rules without bytes) show none; `in_flight` adds what is in flight."""
    sized = bool(f["bytes_leaked"] or f["bytes_held"]) or not (f["leaked"] or f["held"])
    oldest = f"oldest {seconds(f['oldest_held_age_s'])}" if f["oldest_held_age_s"] is not None else ""
    held = ", ".join(part for part in (human_bytes(f["bytes_held"]) if sized else "", oldest) if part)
    text = f"held {f['held']}{f' ({held})' if held else ''} of {f['opened']} opened"
    if in_flight and f["in_flight"]:
        text += f", {f['in_flight']} in flight"
    if f["family"] == "direct":
        return f"{text}, released {f['released']} ({f['released_by_gc']} by the GC)"
    leaked = f" ({human_bytes(f['bytes_leaked'])})" if sized else ""
    return f"leaked {f['leaked']}{leaked} {text}"


def _total(counts: dict) -> str:
    """`leaked 11 (2.5 MiB) held 8 (1.4 MiB) of 21 opened`, without sizes for kinds that have none."""
    if counts["bytes_leaked"] or counts["bytes_held"] or not (counts["leaked"] or counts["held"]):
        return (f"leaked {counts['leaked']} ({human_bytes(counts['bytes_leaked'])}) held {counts['held']} "
                f"({human_bytes(counts['bytes_held'])}) of {counts['opened']} opened")
    return f"leaked {counts['leaked']} held {counts['held']} of {counts['opened']} opened"


def _sampled(report: RunReport) -> str:
    return f" ({report.sampled})" if report.sampled else ""


def _nothing_found(report: RunReport) -> str:
    every = report.everything
    if not every["sites"]:
        return "Nothing tracked: no object of a tracked kind was opened."
    the_runs = "the run has" if len(report.jvms) == 1 else f"the {len(report.jvms)} runs have"
    if every["leaked"] or every["held"]:
        asked = ", ".join([*report.kinds, *report.families])
        return (f"Nothing unreleased of {asked}; {the_runs} {every['leaked']} leaked and {every['held']} "
                "held objects of other kinds.")
    opened_at = f"{every['opened']} objects opened at {plural(every['sites'], 'site')}"
    if every["in_flight"]:
        return (f"Nothing left unreleased: of {opened_at}, {every['released']} were released, "
                f"{every['in_flight']} are in flight.")
    return f"Nothing left unreleased: all {opened_at} were released."
