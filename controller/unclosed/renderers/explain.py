"""`unclosed explain` as text and JSON: one report, or with --watch a line per sample and, at
the end, what grew."""

import json

from ..explain.accounting import components, growth
from ..explain.proc import REGIONS
from ..units import MIB, duration, mib, mib_change


def render_text(report: dict) -> str:
    os_, jvm, java = report["os"], report["jvm"], report["java"]
    lines = [f"JVM {report['pid']}: {java.get('vm') or 'Java'} {java.get('version') or '?'} ({java.get('home')}), "
             f"up {duration(report.get('uptime_s'))}, {os_.get('threads')} threads"]
    lines.append(f"  OS view:     RSS {mib(os_.get('rss'))} MiB = anon {mib(os_.get('rss_anon'))} + file "
                 f"{mib(os_.get('rss_file'))} + shmem {mib(os_.get('rss_shmem'))}; swap {mib(os_.get('swap'))}")
    cg = report.get("cgroup")
    if cg:
        limit = "no limit" if cg.get("limit") is None else f"limit {mib(cg['limit'])}"
        lines.append(f"  cgroup v{cg['version']}:   {cg['path']} ({cg.get('processes')} processes): usage {mib(cg.get('usage'))} MiB "
                     f"({limit}) = anon {mib(cg.get('anon'))} + file {mib(cg.get('file'))} + kernel/other; inactive file "
                     f"{mib(cg.get('inactive_file'))} -> working set {mib(cg.get('working_set'))} MiB")
    else:
        lines.append("  cgroup:      no memory cgroup found")
    nmt = jvm.get("nmt_mode", "off")
    pools = jvm.get("buffer_pools")
    direct = pools.get("direct") if pools else None
    lines.append(f"  JVM view:    NMT {nmt}; direct buffer pool "
                 + (f"{mib(direct['used'])} MiB in {direct['count']} buffers" if direct else "unknown")
                 + (f", MaxDirectMemorySize {mib(jvm['max_direct_memory'])} MiB" if jvm.get("max_direct_memory") else ""))
    ours = report["ours"]
    if ours.get("agent"):
        families = {f: v for f, v in (ours.get("families") or {}).items() if v.get("held") or v.get("bytes_held")}
        if not families:
            held = "nothing held"
        else:
            held = "held " + ", ".join(f"{f} {mib(v.get('bytes_held'))} MiB in {v.get('held', '?')}"
                                       for f, v in sorted(families.items()))
        since = ours.get("tracking_since_ms")
        ago = f", tracking for {duration((report['time_ms'] - since) / 1000)}" if since else ""
        lines.append(f"  our view:    unclosed agent loaded ({ours.get('agent_dir')}{ago}): {held}")
    else:
        lines.append(f"  our view:    no unclosed agent loaded (`unclosed attach {report['pid']}`)")
    lines.append("")
    lines.append(f"Where the RSS goes{'':32} MiB  basis      detail")
    for row in report["breakdown"]:
        if row["component"] == "remainder":
            lines.append("  " + "-" * 56)
        lines.append(f"  {row['label'][:44]:44} {mib(row['bytes']):>8}  {row['basis']:10} {row['detail']}".rstrip())
    lines.append(f"  {'RSS (sum of /proc/PID/smaps)':44} {mib(report['rss']):>8}")
    lines.append("")
    arenas = report["arenas"]
    parts = []
    for key, label in REGIONS.items():
        value = report["regions"][key]
        if key == "malloc_arenas":
            label = f"malloc arenas ({arenas['count']} heaps of 64 MiB)"
        if value or key in ("malloc_arenas",):
            parts.append(f"{label} {mib(value)}")
    lines.append("Where it lives, by mapping (MiB): " + ", ".join(parts))
    allocator = report["allocator"]
    lines.append(f"  allocator: {allocator['name']}" + (f", MALLOC_ARENA_MAX={allocator['MALLOC_ARENA_MAX']}"
                                                          if allocator.get("MALLOC_ARENA_MAX") else ""))
    if jvm.get("nmt"):
        cats = sorted(jvm["nmt"]["categories"].items(), key=lambda kv: -kv[1]["committed"])
        lines.append(f"NMT (committed {mib(jvm['nmt']['committed'])} MiB): "
                     + ", ".join(f"{name} {mib(c['committed'])}" for name, c in cats if c["committed"] >= MIB // 10))
    if report["hints"]:
        lines.append("")
        lines.append("Hints")
        lines += [f"  - {h}" for h in report["hints"]]
    if report["notes"]:
        lines.append("")
        lines.append("Notes")
        lines += [f"  - {n}" for n in report["notes"]]
    lines.append("")
    lines.append("Overlaps (what is counted once, and where)")
    lines += [f"  - {o}" for o in report["overlaps"]]
    return "\n".join(lines) + "\n"


def render_growth(samples: list[dict]) -> str:
    table = growth(samples)
    if not table["rows"]:
        return ""
    first, last = samples[0], samples[-1]
    span = (last["time_ms"] - first["time_ms"]) / 1000
    lines = [f"Growth of JVM {first['pid']}: {len(samples)} samples over {duration(span)} (MiB; columns by JVM uptime)"]
    header = "".join(f"{'up ' + duration(t):>11}" for t in table["times"])
    lines.append(f"  {'':36}{header}{'change':>10}")
    grows = [r for r in table["rows"] if r["component"] != "rss" and r["change"] > 0]
    top = grows[0]["component"] if grows and grows[0]["change"] >= MIB else None
    for row in table["rows"]:
        cells = "".join(f"{mib(v):>11}" for v in row["values"])
        mark = "  <- grows most" if row["component"] == top else ""
        lines.append(f"  {row['label'][:36]:36}{cells}{mib_change(row['change']):>10}{mark}")
    return "\n".join(lines) + "\n"


def sample_line(report: dict, previous: dict | None) -> str:
    """One line per sample while watching: RSS and what moved since the previous sample."""
    line = f"up {duration(report.get('uptime_s')):>8}  RSS {mib(report['rss']):>8} MiB"
    if previous is None:
        return line
    now, before = components(report), components(previous)
    line += f" ({mib_change(now['rss'] - before['rss'])})"
    labels = {r["component"]: r["label"] for r in report["breakdown"]}
    moves = sorted(((name, now[name] - before.get(name, 0)) for name in now if name in labels),
                   key=lambda kv: -abs(kv[1]))
    shown = [f"{labels[n]} {mib_change(d)}" for n, d in moves[:3] if abs(d) >= MIB // 10]
    return line + (": " + ", ".join(shown) if shown else "")


class _Writer:
    def __init__(self, out, interval: float | None = None, count: int | None = None):
        self.out, self.interval, self.count = out, interval, count

    def _write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()  # a sample shows as it comes


class ExplainText(_Writer):
    """Text: a report in full; with --watch the first sample in full, then a line per sample as
    it comes (`interval` seconds apart, `count` of them or until Ctrl-C), and at the end what grew."""

    def write_report(self, report: dict) -> None:
        self._write(render_text(report))

    def write_sample(self, report: dict, previous: dict | None) -> None:
        if previous is not None:
            self._write(sample_line(report, previous) + "\n")
            return
        self._write(render_text(report) + "\n")
        self._write(f"sampling every {self.interval:g} s"
                    + (f", {self.count} samples" if self.count else ", Ctrl-C to stop") + "\n")
        self._write(sample_line(report, None) + "\n")

    def write_growth(self, samples: list[dict]) -> None:
        self._write("\n" + render_growth(samples))


class ExplainJson(_Writer):
    """JSON: one document, a report; with --watch {"samples": [...], "growth": {...}} at the end."""

    def write_report(self, report: dict) -> None:
        self._write(json.dumps(report, indent=2) + "\n")

    def write_sample(self, report: dict, previous: dict | None) -> None:
        pass  # every sample goes into the one document at the end

    def write_growth(self, samples: list[dict]) -> None:
        self._write(json.dumps({"samples": samples, "growth": growth(samples)}, indent=2) + "\n")
