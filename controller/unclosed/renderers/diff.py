"""`unclosed diff` as text and JSON: the document of diff.diff_runs (README: "Before and after a
release")."""

import json
from pathlib import Path

from ..signature import culprit_index
from ..units import clock, human_bytes


def write_json(result: dict, out) -> None:
    json.dump(result, out, indent=2)
    out.write("\n")


def write_text(result: dict, out) -> None:
    w = out.write
    old_run, new_run = result["runs"]["old"], result["runs"]["new"]
    old_name, new_name = old_run["name"], new_run["name"]
    w(f"unclosed diff: {old_name} -> {new_name}\n")
    for run in (old_run, new_run):
        w(f"  {run['name']}: {_describe(run)}\n")
    per = result["per"]
    if per:
        w(f"  figures per {per['unit']}: {old_name} ran {per['old']:g}, {new_name} ran {per['new']:g}\n")
    s = result["summary"]
    w(f"new {s['new']}, fixed {s['fixed']}, changed {s['changed']}, unchanged {s['unchanged']}\n")

    for item in result["new"]:
        w("\n")
        n = item["new"]
        w(f"NEW {item['kind']}: {_figures_text(n, per)} in {new_name}")
        w(f"; in {old_name} all {item['old']['opened']} opened were released\n" if item["old"] else
          f"; not seen in {old_name}\n")
        w(f"  culprit: {item['culprit'] or '(no frame outside the JDK)'}\n")
        for frame in _below_culprit(item):
            w(f"    at {frame}\n")
        _write_match(item, w)
    for item in result["changed"] + result["fixed"]:
        w("\n")
        o, n = item["old"], item["new"]
        if n and (n["leaked"] or n["held"]):
            ratio = f" (x{item['ratio']:g})" if item.get("ratio") is not None else ""
            w(f"CHANGED {item['kind']}: {_arrow(o, n, 'leaked')}, {_arrow(o, n, 'held')}, "
              f"{human_bytes(o['bytes'])} -> {human_bytes(n['bytes'])}{ratio}\n")
            if per:
                w(f"  per {per['unit']}: unreleased {_rate(o)} -> {_rate(n)}\n")
        else:
            w(f"FIXED {item['kind']}: "
              f"{_figures_text(o, per)} in {old_name}")
            w(f"; in {new_name} all {n['opened']} opened were released\n" if n else f"; not seen in {new_name}\n")
        _write_culprits(item, w)
        _write_match(item, w)
    if result["unchanged"]:
        w("\nunchanged:\n")
        for item in result["unchanged"]:
            o, n = item["old"], item["new"]
            w(f"  {item['kind']} at {item['culprit']}: {_arrow(o, n, 'leaked')}, {_arrow(o, n, 'held')}, "
              f"{human_bytes(o['bytes'])} -> {human_bytes(n['bytes'])}\n")


def _describe(run: dict) -> str:
    recorded = clock(run["started_ms"], with_seconds=False) if run.get("started_ms") else "?"
    return (f"run {run['id']} of {Path(run['db']).name}, pid {run['pid']} {run.get('main_class') or '(main class unknown)'}, "
            f"JDK {run.get('java_version') or '?'}, recorded {recorded}, {run.get('status')}")


def _figures_text(f: dict, per) -> str:
    text = (f"leaked {f['leaked']} ({human_bytes(f['bytes_leaked'])}) held {f['held']} ({human_bytes(f['bytes_held'])}) "
            f"of {f['opened']} opened")
    if per and f["per_unit"]:
        text += f", {_rate(f)} unreleased per {per['unit']}"
    return text


def _rate(f: dict) -> str:
    p = f["per_unit"]
    return f"{p['leaked'] + p['held']:.3g} ({human_bytes(round(p['bytes']))})"


def _arrow(o: dict, n: dict, key: str) -> str:
    return f"{key} {o[key]} -> {n[key]}"


def _below_culprit(item: dict, count: int = 3) -> list[str]:
    frames = item.get("frames") or []
    start = culprit_index(item)
    return frames[start + 1:start + 1 + count]


def _write_culprits(item: dict, w) -> None:
    o, n = item["old"], item["new"]
    if o and n and o["culprit"] != n["culprit"]:
        w(f"  culprit: {o['culprit']}\n       now: {n['culprit']}\n")
    else:
        w(f"  culprit: {(o or n)['culprit'] or '(no frame outside the JDK)'}\n")


def _write_match(item: dict, w) -> None:
    match = item["match"]
    if not match:
        return
    if match["by"] == "signature":
        w(f"  matched by signature {match['signature']['new']}:\n")
    else:
        w(f"  matched by similarity {match['score']:.2f} ({match['signature']['old']} ~ {match['signature']['new']}):\n")
    for frame in match["frames"]:
        if frame["old"] == frame["new"]:
            w(f"    = {frame['old']}\n")
        else:
            w(f"    {'=' if frame['same'] else '~'} {frame['old'] or '(none)'}  ->  {frame['new'] or '(none)'}\n")
