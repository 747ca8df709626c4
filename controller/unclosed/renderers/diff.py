"""`unclosed diff` as text and JSON: the document of diff.diff_sides (README: "Before and after a
release")."""

import json
from pathlib import Path

from ..signature import culprit_index
from ..units import clock, counted_names, human_bytes, printable

JVMS_LISTED = 5  # runs of a side its header lists
TESTS_SHOWN = 3


def write_json(result: dict, out) -> None:
    json.dump(result, out, indent=2)
    out.write("\n")


def write_text(result: dict, out) -> None:
    def w(line: str = "") -> None:
        out.write(printable(line) + "\n")

    sides = result["runs"]
    old_name, new_name = sides["old"]["name"], sides["new"]["name"]
    w(f"unclosed diff: {old_name} -> {new_name}")
    for side in (sides["old"], sides["new"]):
        jvms = side["jvms"]
        if len(jvms) == 1:
            w(f"  {side['name']}: {_describe(jvms[0])}")
            continue
        w(f"  {side['name']}: {len(jvms)} JVMs in {len(side['sources'])} source(s)")
        for run in jvms[:JVMS_LISTED]:
            w(f"    {_describe(run)}")
        if len(jvms) > JVMS_LISTED:
            w(f"    and {len(jvms) - JVMS_LISTED} more")
    per = result["per"]
    if per:
        w(f"  figures per {per['unit']}: {old_name} ran {per['old']:g}, {new_name} ran {per['new']:g}")
    s = result["summary"]
    w(f"new {s['new']}, fixed {s['fixed']}, changed {s['changed']}, unchanged {s['unchanged']}")

    for item in result["new"]:
        w()
        n = item["new"]
        seen_before = (f"in {old_name} all {item['old']['opened']} opened were released" if item["old"] else
                       f"not seen in {old_name}")
        w(f"NEW {_kind(item)}: {_figures_text(n, per)} in {new_name}{_where(n, sides['new'])}; {seen_before}")
        w(f"  culprit: {item['culprit'] or '(unknown)'}")
        _write_tests(item, w)
        for frame in _below_culprit(item):
            w(f"    at {frame}")
        _write_match(item, w)
    for item in result["changed"] + result["fixed"]:
        w()
        o, n = item["old"], item["new"]
        if n and (n["leaked"] or n["held"]):
            ratio = f" (x{item['ratio']:g})" if item.get("ratio") is not None else ""
            w(f"CHANGED {_kind(item)}: {_arrow(o, n, 'leaked')}, {_arrow(o, n, 'held')}, "
              f"{human_bytes(o['bytes'])} -> {human_bytes(n['bytes'])}{ratio}")
            if per:
                w(f"  per {per['unit']}: unreleased {_rate(o)} -> {_rate(n)}")
        else:
            now = f"in {new_name} all {n['opened']} opened were released" if n else f"not seen in {new_name}"
            w(f"FIXED {_kind(item)}: {_figures_text(o, per)} in {old_name}{_where(o, sides['old'])}; {now}")
        _write_culprits(item, w)
        if n and (n["leaked"] or n["held"]):
            _write_tests(item, w)
        _write_match(item, w)
    if result["unchanged"]:
        w()
        w("unchanged:")
        for item in result["unchanged"]:
            o, n = item["old"], item["new"]
            w(f"  {item['kind']} at {item['culprit']}: {_arrow(o, n, 'leaked')}, {_arrow(o, n, 'held')}, "
              f"{human_bytes(o['bytes'])} -> {human_bytes(n['bytes'])}")


def _kind(item: dict) -> str:
    return item["kind"] or "(a site whose definition never reached the run: kind unknown)"


def _describe(run: dict) -> str:
    recorded = clock(run["started_ms"], with_seconds=False) if run.get("started_ms") else "?"
    return (f"run {run['id']} of {Path(run['db']).name}, pid {run['pid']} {run.get('main_class') or '(main class unknown)'}, "
            f"JDK {run.get('java_version') or '?'}, recorded {recorded}, {run.get('status')}")


def _figures_text(f: dict, per) -> str:
    text = (f"leaked {f['leaked']} ({human_bytes(f['bytes_leaked'])}) held {f['held']} ({human_bytes(f['bytes_held'])}) "
            f"of {f['opened']} opened")
    if f["paths"] > 1:
        text += f" at {f['paths']} paths"
    if per and f["per_unit"]:
        text += f", {_rate(f)} unreleased per {per['unit']}"
    return text


def _where(f: dict, side: dict) -> str:
    """In how many of a side's sources (a fleet) or JVMs a finding was seen, when it has several."""
    if len(side["sources"]) > 1:
        return f" (seen in {f['sources']} of {len(side['sources'])} sources, {f['jvms']} JVM(s))"
    if len(side["jvms"]) > 1:
        return f" (seen in {f['jvms']} of {len(side['jvms'])} JVMs)"
    return ""


def _rate(f: dict) -> str:
    p = f["per_unit"]
    return f"{p['leaked'] + p['held']:.3g} ({human_bytes(round(p['bytes']))})"


def _arrow(o: dict, n: dict, key: str) -> str:
    return f"{key} {o[key]} -> {n[key]}"


def _below_culprit(item: dict, count: int = 3) -> list[str]:
    frames = item.get("frames") or []
    start = culprit_index(item)
    return frames[start + 1:start + 1 + count]


def _write_tests(item: dict, w) -> None:
    tests = item["tests"]
    if tests:
        w(f"  tests: {counted_names(tests, TESTS_SHOWN)}")


def _write_culprits(item: dict, w) -> None:
    o, n = item["old"], item["new"]
    if o and n and o["culprit"] != n["culprit"]:
        w(f"  culprit: {o['culprit']}")
        w(f"       now: {n['culprit']}")
    else:
        w(f"  culprit: {(o or n)['culprit'] or '(unknown)'}")


def _write_match(item: dict, w) -> None:
    match = item["match"]
    if not match:
        return
    if match["by"] == "key":
        w(f"  matched by key: {item['key']}")
        return
    if match["by"] == "relocated":
        w(f"  matched by culprit method, package ignored: {match['signature']['new']}")
        return
    w(f"  matched by similarity {match['score']:.2f} ({match['signature']['old']} ~ {match['signature']['new']}):")
    for frame in match["frames"]:
        if frame["old"] == frame["new"]:
            w(f"    = {frame['old']}")
        else:
            w(f"    {'=' if frame['same'] else '~'} {frame['old'] or '(none)'}  ->  {frame['new'] or '(none)'}")
