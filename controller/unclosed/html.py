"""HTML reports: one self-contained file (inline CSS and JS, no network, no external URL) with
the ranked sites, each stack expandable, a flame graph (icicle) of leaked and held native bytes
by stack, and a timeline of what each kind held across the run. `diff` shows two runs side by
side. Jinja2 (autoescaping) fills the templates in templates/; charts are inline SVG computed
here."""

import time
from pathlib import Path

import jinja2

from .collapsed import folded_stacks
from .report import human_bytes, site_findings
from .signature import culprit_index, is_jdk, signature
from .store import Store

TEMPLATES = Path(__file__).parent / "templates"
ROW_PX = 18  # height of one flame graph row
MAX_SITES = 200  # sites listed on a page; the flame graph and totals count them all
MIN_WIDTH = 0.001  # narrower boxes are left out (under 1 px at 1000 px)
PALETTE = ["#d94f3d", "#3b7dd8", "#e0a100", "#2e9e6a", "#8a5cc7", "#d4679b", "#5aa5b8", "#8c6d46"]
CHART_W, CHART_H, PAD_L, PAD_B = 440, 150, 56, 20


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters["bytes"] = human_bytes
    env.filters["clock"] = lambda ms: time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ms / 1000)) if ms else "?"
    env.filters["short"] = short_frame
    return env


def write_html_report(store: Store, run_id: int | None, out, kinds=None, families=None,
                      include_clean: bool = False) -> list[dict]:
    """Writes the report of one run as one HTML page; returns the sites it lists."""
    run = store.run(run_id)
    findings = site_findings(store, run["id"], kinds, families, include_clean)
    page = _environment().get_template("report.html.j2").render(
        title=f"unclosed: {_name(run)}", view=run_view(store, run, findings))
    out.write(page)
    return findings


def write_html_diff(result: dict, old_store: Store, new_store: Store, out) -> None:
    """Writes a diff (diff.diff_runs) as one HTML page, the two runs side by side."""
    runs = {side: store.run(result["runs"][side]["id"]) for side, store in (("old", old_store), ("new", new_store))}
    timelines = {"old": timeline(old_store, runs["old"]), "new": timeline(new_store, runs["new"])}
    # One color per kind and one scale per chart on both sides, so that they compare at a glance.
    kinds = sorted(set(timelines["old"]["kinds"]) | set(timelines["new"]["kinds"]))
    colors = {kind: PALETTE[i % len(PALETTE)] for i, kind in enumerate(kinds)}
    tops = {key: max([0] + [max(series[key] or [0]) for data in timelines.values() for series in data["kinds"].values()])
            for key, _, _ in CHARTS}
    sides = {side: run_view(store, runs[side], site_findings(store, runs[side]["id"]), prefix=side,
                            charts=timeline_charts(timelines[side], colors, tops))
             for side, store in (("old", old_store), ("new", new_store))}
    names = result["runs"]["old"]["name"], result["runs"]["new"]["name"]
    page = _environment().get_template("diff.html.j2").render(
        title=f"unclosed diff: {names[0]} → {names[1]}", diff=result, sides=sides,
        first={category: (result[category] or [None])[0] for category in ("new", "changed")},
        items=[(category, item, _site_view(item, 0)["stack"])
               for category in ("new", "changed", "fixed", "unchanged") for item in result[category]])
    out.write(page)


def _name(run: dict) -> str:
    return run.get("label") or f"run {run['id']}"


def run_view(store: Store, run: dict, findings: list[dict], prefix: str = "r", charts: dict | None = None) -> dict:
    """What a page shows of one run."""
    ended = run.get("ended_ms") or run.get("last_drain_ms") or run.get("started_ms")
    errors = store.db.execute("SELECT count(*) FROM errors WHERE run_id = ?", [run["id"]]).fetchone()[0]
    totals = {key: sum(f[key] for f in findings) for key in ("opened", "leaked", "held", "bytes_leaked", "bytes_held")}
    totals["sites"] = len(findings)
    return {
        "run": run, "name": _name(run), "db": store.path.name, "errors": errors,
        "seconds": round(((ended or 0) - (run.get("started_ms") or 0)) / 1000, 1),
        "sites": [_site_view(site, rank) for rank, site in enumerate(findings[:MAX_SITES], start=1)],
        "more_sites": max(0, len(findings) - MAX_SITES),
        "totals": totals,
        "flame": flame_graph(findings, prefix),
        "charts": charts or timeline_charts(timeline(store, run)),
    }


def _site_view(site: dict, rank: int) -> dict:
    culprit_at = culprit_index(site) if site["culprit"] else -1
    return {**site, "rank": rank, "signature": signature(site),
            "stack": [{"frame": frame, "culprit": i == culprit_at, "jdk": is_jdk(frame)}
                      for i, frame in enumerate(site["frames"])]}


def short_frame(frame: str) -> str:
    """`com.acme.codec.GzipCodec.compress(GzipCodec.java:12)` -> `GzipCodec.compress:12`."""
    head, _, where = frame.partition("(")
    cls, _, method = head.rpartition(".")
    line = where.rstrip(")").rpartition(":")[2]
    simple = cls.rpartition(".")[2]
    return f"{simple}.{method}" + (f":{line}" if line.isdigit() else "") if cls else head


# -- flame graph (icicle: the root on top, the allocation at the bottom) ----------------------

def flame_graph(findings: list[dict], prefix: str) -> dict:
    """Boxes of an icicle of native bytes leaked + held, by stack: each box a frame, as wide as
    the bytes created below it; x and w are fractions of the whole width."""
    culprits = {site["culprit"] for site in findings if site["culprit"]}
    leaked = dict(folded_stacks(findings, "bytes_leaked"))
    held = dict(folded_stacks(findings, "bytes_held"))
    root = {"children": {}, "leaked": 0, "held": 0}
    for stack in sorted(set(leaked) | set(held)):
        node = root
        node["leaked"] += leaked.get(stack, 0)
        node["held"] += held.get(stack, 0)
        for frame in stack.split(";"):
            node = node["children"].setdefault(frame, {"children": {}, "leaked": 0, "held": 0})
            node["leaked"] += leaked.get(stack, 0)
            node["held"] += held.get(stack, 0)
    total = root["leaked"] + root["held"]
    boxes, depth = [], 0
    if total:
        boxes.append(_box("all", root, 0.0, total, 0, "root", f"all: {human_bytes(total)}"))

        def lay(node, x, level):
            nonlocal depth
            for frame, child in sorted(node["children"].items(), key=lambda kv: (-(kv[1]["leaked"] + kv[1]["held"]), kv[0])):
                size = child["leaked"] + child["held"]
                if size / total >= MIN_WIDTH:
                    depth = max(depth, level)
                    kind = "culprit" if frame in culprits else "jdk" if is_jdk(frame) else "app"
                    boxes.append(_box(frame, child, x, total, level, kind, short_frame(frame)))
                    lay(child, x, level + 1)
                x += size / total

        lay(root, 0.0, 1)
    return {"id": f"flame-{prefix}", "boxes": boxes, "height": (depth + 1) * ROW_PX + 2, "row": ROW_PX,
            "total": total}


def _box(frame: str, node: dict, x: float, total: int, level: int, kind: str, label: str) -> dict:
    size = node["leaked"] + node["held"]
    return {"x": round(x, 6), "w": round(size / total, 6), "y": level * ROW_PX, "kind": kind, "label": label,
            "title": f"{frame}\nleaked {human_bytes(node['leaked'])}, held {human_bytes(node['held'])} "
                     f"({100 * size / total:.1f}% of {human_bytes(total)})"}


# -- timeline ----------------------------------------------------------------------------------

def timeline(store: Store, run: dict) -> dict:
    """Per kind, at each drain: objects held, their native bytes, objects leaked so far.
    {"t": [seconds since the run began], "kinds": {kind: {"held": [...], "bytes_held": [...], "leaked": [...]}}}"""
    rows = store.conn.execute("""
        SELECT c.site_id, coalesce(s.kind, '?'), c.time_ms, c.held, c.bytes_held, c.leaked
        FROM site_counts c LEFT JOIN sites s ON s.run_id = c.run_id AND s.agent_site_id = c.site_id
        WHERE c.run_id = ? ORDER BY c.site_id, c.drain""", [run["id"]]).fetchall()
    times = {row[0] for row in store.conn.execute(
        "SELECT DISTINCT time_ms FROM agent_counters WHERE run_id = ?", [run["id"]])}
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


CHARTS = (("bytes_held", "native bytes held", human_bytes),
          ("held", "objects held", str),
          ("leaked", "objects leaked (so far)", str))


def timeline_charts(data: dict, colors: dict | None = None, tops: dict | None = None) -> dict:
    """Three charts of a timeline(): bytes held, objects held, objects leaked; `colors` per kind
    and `tops` (the top of each chart's scale) make two runs' charts alike."""
    colors = colors or {kind: PALETTE[i % len(PALETTE)] for i, kind in enumerate(data["kinds"])}
    charts = [_chart(data["t"], {k: s[key] for k, s in data["kinds"].items()}, colors, title, fmt,
                     (tops or {}).get(key))
              for key, title, fmt in CHARTS]
    return {"charts": charts, "legend": [{"kind": k, "short": k.rpartition(".")[2], "color": colors[k]}
                                         for k in data["kinds"]],
            "points": len(data["t"])}


def _chart(t: list[float], series: dict[str, list[int]], colors: dict, title: str, fmt, top=None) -> dict:
    """An SVG step chart in a CHART_W x CHART_H box: the lines and the axis labels. Lines drawn
    later are thinner, so that one hidden under another still shows at its edges."""
    if top is None:
        top = max([max(values) for values in series.values() if values] + [0])
    end = t[-1] if t else 0
    x = lambda s: PAD_L + (CHART_W - PAD_L - 6) * (s / end if end else 0.5)
    y = lambda v: 6 + (CHART_H - PAD_B - 12) * (1 - (v / top if top else 0))
    lines = []
    for n, (kind, values) in enumerate(series.items()):
        points = []
        for i, (s, v) in enumerate(zip(t, values)):
            if i:
                points.append(f"{x(s):.1f},{y(values[i - 1]):.1f}")
            points.append(f"{x(s):.1f},{y(v):.1f}")
        dots = [{"x": round(x(s), 1), "y": round(y(v), 1)} for s, v in zip(t, values)] if len(t) <= 40 else []
        width = 1.5 + 2.5 * (len(series) - 1 - n) / max(len(series) - 1, 1)
        lines.append({"kind": kind, "color": colors[kind], "points": " ".join(points), "dots": dots,
                      "width": round(width, 2), "last": fmt(values[-1]) if values else "0"})
    return {"title": title, "lines": lines, "w": CHART_W, "h": CHART_H, "x0": PAD_L, "y_top": round(y(top), 1),
            "y_zero": round(y(0), 1), "top": fmt(top) if top else None, "end": f"{end:g}s", "x_end": CHART_W - 6,
            "flat": not any(any(values) for values in series.values())}
