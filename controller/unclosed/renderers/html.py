"""HTML reports: one self-contained file (inline CSS and JS, no network, no external URL) with
the ranked sites, each stack expandable, a flame graph (icicle) of leaked and held native bytes
by stack, and a timeline of what each kind held across the run. `diff` shows two runs side by
side. Jinja2 (autoescaping) fills the templates in templates/; charts are inline SVG computed
here."""

from pathlib import Path

import jinja2

from ..collapsed import folded_stacks
from ..diff import RunDiff, run_name
from ..report import RunReport
from ..signature import culprit_index, is_jdk, signature
from ..units import clock, human_bytes

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
    env.filters["clock"] = lambda ms: clock(ms) if ms else "?"
    env.filters["short"] = short_frame
    return env


def write_report(report: RunReport, out) -> None:
    """The report of one run as one HTML page."""
    page = _environment().get_template("report.html.j2").render(
        title=f"unclosed: {run_name(report.run)}",
        view=run_view(report, report.sites, charts=timeline_charts(report.timeline)))
    out.write(page)


def write_diff(diff: RunDiff, out) -> None:
    """A diff as one HTML page, the two runs side by side."""
    result, sides = diff.document, {"old": diff.old, "new": diff.new}
    timelines = {side: report.timeline for side, report in sides.items()}
    # One color per kind and one scale per chart on both sides, so that they compare at a glance.
    kinds = sorted(set(timelines["old"]["kinds"]) | set(timelines["new"]["kinds"]))
    colors = {kind: PALETTE[i % len(PALETTE)] for i, kind in enumerate(kinds)}
    tops = {key: max([0] + [max(series[key] or [0]) for data in timelines.values() for series in data["kinds"].values()])
            for key, _, _ in CHARTS}
    # A diff reads every site of each run; a page lists those that left something unreleased.
    views = {side: run_view(report, [s for s in report.sites if s["leaked"] or s["held"]], prefix=side,
                            charts=timeline_charts(timelines[side], colors, tops))
             for side, report in sides.items()}
    names = result["runs"]["old"]["name"], result["runs"]["new"]["name"]
    page = _environment().get_template("diff.html.j2").render(
        title=f"unclosed diff: {names[0]} → {names[1]}", diff=result, sides=views,
        first={category: (result[category] or [None])[0] for category in ("new", "changed")},
        items=[(category, item, _site_view(item, 0)["stack"])
               for category in ("new", "changed", "fixed", "unchanged") for item in result[category]])
    out.write(page)


def run_view(report: RunReport, findings: list[dict], charts: dict, prefix: str = "r") -> dict:
    """What a page shows of one run: `findings`, the sites it lists, worst first."""
    run = report.run
    ended = run.get("ended_ms") or run.get("last_drain_ms") or run.get("started_ms")
    totals = {key: sum(f[key] for f in findings) for key in ("opened", "leaked", "held", "bytes_leaked", "bytes_held")}
    totals["sites"] = len(findings)
    return {
        "run": run, "name": run_name(run), "db": report.db.name, "errors": report.errors,
        "seconds": round(((ended or 0) - (run.get("started_ms") or 0)) / 1000, 1),
        "sites": [_site_view(site, rank) for rank, site in enumerate(findings[:MAX_SITES], start=1)],
        "more_sites": max(0, len(findings) - MAX_SITES),
        "totals": totals,
        "flame": flame_graph(findings, prefix),
        "charts": charts,
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


# -- timeline charts ---------------------------------------------------------------------------

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
