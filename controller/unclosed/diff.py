"""Before and after a release: the findings of two sides (a run each, or several: a fleet),
matched by key, sorted into fixed, new, changed (still leaking, size moved) and unchanged.

A finding is matched by its key (findings.Finding.key: the kind and the culprit's class and
method, line numbers ignored, as baselines match), a dict lookup; then, among those left, by the
same without the package (shading, relocation) when that names one finding on each side; then,
for findings left that leak on both sides, by similarity (signature.similarity), comparing only
findings of one family whose culprits share a simple class or method name, at most BUCKET_CAP
of each, so that a diff of tens of thousands of sites takes seconds.

A side is one or more sources, each `DB[:RUN]` or a data folder (all its JVMs): `audit.db` (its
latest run), `audit.db:3` (run 3), `audit.db:2.1.8` (the latest run labelled 2.1.8),
`audit.db:label=17` (a label made of digits); `:RUN` alone means a run of the first OLD database.
"""

from dataclasses import dataclass
from pathlib import Path

from .errors import UnclosedError
from .findings import MergedFinding, RunFindings, merge_findings
from .gate_source import read_runs, read_source
from .report import RunReport, read_report
from .signature import (MIN_SCORE, context, evidence, parse_frame, reduce_frame, signature, signature_id,
                        similarity, simple_kind)
from .store import Store

NEW_FINDINGS_FOUND = 4  # exit code of `diff --fail-on-new` when NEW has findings OLD had not
TOLERANCE = 0.10  # a still-leaking finding whose figures move by more than this share has changed
CATEGORIES = ("new", "fixed", "changed", "unchanged")
FIGURES = ("opened", "released", "leaked", "held", "bytes_leaked", "bytes_held")
MATCH_RULE = "kind, and the class and method of the culprit frame (line numbers ignored)"
BUCKET_CAP = 16  # findings of one side a similarity bucket compares, the most unreleased first


@dataclass
class SourceRef:
    """One source of a side: a database and which of its runs, or a data folder."""
    path: Path
    selector: str | None = None  # None: the latest run (of a database)

    @classmethod
    def parse(cls, text: str, other_db: Path | None = None) -> "SourceRef":
        """`audit.db`, `audit.db:2.1.8`, `audit.db:3`, `:2.1.9` (with `other_db`), `build/unclosed`
        (a data folder). A path that exists as a whole wins over a split at `:`, so paths with
        colons work."""
        if text.startswith(":"):
            if other_db is None:
                raise UnclosedError(f"{text!r} names no database: write DB{text}")
            return cls(other_db, text[1:] or None)
        if Path(text).exists():
            return cls(Path(text))
        parts = text.split(":")
        for cut in range(len(parts) - 1, 0, -1):
            db = Path(":".join(parts[:cut]))
            if db.is_file():
                return cls(db, ":".join(parts[cut:]) or None)
        raise UnclosedError(f"no database {text.split(':')[0]!r}: name a run as DB, DB:RUN_ID or DB:LABEL, "
                            "or give a data folder")

    def read(self, with_report: bool = False, timeline: bool = False) -> tuple[list[RunFindings], RunReport | None]:
        """Its runs, every site of each; `with_report`: the run's report as well (a database's one
        run), for the writers that draw it."""
        if self.path.is_dir():
            if self.selector:
                raise UnclosedError(f"{self.path} is a data folder: it has no runs to choose from")
            return read_source(self.path, include_clean=True), None
        with Store(self.path, readonly=True) as store:
            run = store.run_by_selector(self.selector)
            report = read_report(store, run["id"], include_clean=True, timeline=timeline) if with_report else None
            return read_runs(store, [run["id"]], str(self.path), include_clean=True), report


@dataclass
class Side:
    """One side of a diff: its runs, their findings merged by key, and its name."""
    runs: list[RunFindings]
    findings: list[MergedFinding]
    label: str | None  # the label all its runs share, if they do
    name: str  # as headers call it: its label, else `run N` (one run), else `old`/`new`
    report: RunReport | None = None  # the report of its one run, for the writers that draw it


def run_name(run: dict) -> str:
    """How a run is called in headers: its label, else `run N`."""
    return run.get("label") or f"run {run['id']}"


def read_side(refs: list[SourceRef], default_name: str, with_report: bool = False, timeline: bool = False) -> Side:
    runs, reports = [], []
    for ref in refs:
        found, report = ref.read(with_report, timeline)
        runs += found
        reports.append(report)
    labels = {rf.run.get("label") for rf in runs}
    label = labels.pop() if len(labels) == 1 else None
    name = label or (run_name(runs[0].run) if len(runs) == 1 else default_name)
    return Side(runs, merge_findings(runs), label, name, reports[0] if len(reports) == 1 else None)


@dataclass
class RunDiff:
    """A diff as its writers take it: the document `diff --format json` prints, and the two
    runs' reports (for the writers that draw them: one run on each side)."""
    document: dict
    old: RunReport | None
    new: RunReport | None


def parse_units(values, old: Side, new: Side) -> tuple[float, float] | None:
    """`--per` values: `N` (both sides), `old=N`, `new=N` or `LABEL=N`. Returns (old, new) units."""
    if not values:
        return None
    units = {"old": None, "new": None}
    for value in values:
        key, _, number = value.rpartition("=")
        try:
            amount = float(number)
        except ValueError:
            amount = 0
        if amount <= 0:
            raise UnclosedError(f"--per {value!r}: give a positive number of workload units, e.g. --per 10000 "
                                "or --per old=10000 --per new=12000")
        if not key:
            targets = ["old", "new"]
        elif key in units:
            targets = [key]
        else:
            targets = [name for name, side in (("old", old), ("new", new)) if side.label == key]
            if not targets:
                raise UnclosedError(f"--per {value!r}: neither side is labelled {key!r} "
                                    f"(they are {old.name!r} and {new.name!r}; or say old= / new=)")
        for side in targets:
            units[side] = amount
    missing = [side for side, amount in units.items() if amount is None]
    if missing:
        raise UnclosedError(f"--per gives no units for the {missing[0]} side: add --per {missing[0]}=N")
    return units["old"], units["new"]


def read_diff(old_refs: list[SourceRef], new_refs: list[SourceRef], per=(), unit: str = "unit",
              min_score: float = MIN_SCORE, tolerance: float = TOLERANCE, with_reports: bool = False,
              timeline: bool = False) -> RunDiff:
    """Reads both sides (every site of each; `with_reports`: each side's one run's report, with
    its timeline when asked) and compares them."""
    if with_reports and (len(old_refs) > 1 or len(new_refs) > 1):
        raise UnclosedError("this format shows one run on each side: give one OLD and one NEW database")
    old = read_side(old_refs, "old", with_reports, timeline)
    new = read_side(new_refs, "new", with_reports, timeline)
    if with_reports and not (old.report and new.report):
        raise UnclosedError("this format shows one run on each side: give a database's run, not a data folder")
    return RunDiff(diff_sides(old, new, per, unit, min_score, tolerance), old.report, new.report)


def diff_sides(old: Side, new: Side, per=(), unit: str = "unit", min_score: float = MIN_SCORE,
               tolerance: float = TOLERANCE) -> dict:
    """Compares two sides, each read with every site (include_clean); returns the document
    `diff --format json` prints (README: "Before and after a release")."""
    units = parse_units(per, old, new)
    result = {
        "runs": {"old": _side_doc(old, units and units[0]), "new": _side_doc(new, units and units[1])},
        "per": {"unit": unit, "old": units[0], "new": units[1]} if units else None,
        "rule": {"matches_by": MATCH_RULE, "min_score": min_score, "tolerance": tolerance},
        "summary": {},
        **{category: [] for category in CATEGORIES},
    }
    for o, n, match in match_findings(old.findings, new.findings, min_score):
        if not (o and o.unreleased) and not (n and n.unreleased):
            continue
        category = "new" if not (o and o.unreleased) else "fixed" if not (n and n.unreleased) else "still"
        finding = o if category == "fixed" else n  # where it leaks
        top = finding.top_path
        item = {"key": finding.key, "key_id": signature_id(finding.key), "kind": finding.kind,
                "family": finding.family, "culprit": finding.culprit, "frames": top["frames"],
                "detail": top.get("detail"), "signature": signature(top), "tests": finding.tests,
                "old": _figures(o, units and units[0]), "new": _figures(n, units and units[1]), "match": match}
        if category == "still":
            item["ratio"] = _ratio(item["old"], item["new"], units)
            category = "changed" if _moved(item["old"], item["new"], units, tolerance) else "unchanged"
        result[category].append(item)
    by_bytes = lambda side: (lambda item: (-(item[side]["bytes"] if item[side] else 0), item["key"]))
    result["new"].sort(key=by_bytes("new"))
    result["fixed"].sort(key=by_bytes("old"))
    result["changed"].sort(key=lambda item: (-abs(_measure(item["new"], units)[1] - _measure(item["old"], units)[1]),
                                             item["key"]))
    result["unchanged"].sort(key=by_bytes("new"))
    result["summary"] = {category: len(result[category]) for category in CATEGORIES}
    return result


def match_findings(old: list[MergedFinding], new: list[MergedFinding],
                   min_score: float = MIN_SCORE) -> list[tuple]:
    """Pairs the findings of two sides, one to one: (old, new, match), where match is the
    evidence (signature.evidence) of how they paired, `key`, `relocated` or `similarity`, or
    None for a finding unpaired (the other side is None)."""
    pairs = []
    by_key = {f.key: f for f in new}
    left_old = []
    for o in old:
        n = by_key.pop(o.key, None)
        if n:
            pairs.append((o, n, evidence(o.top_path, n.top_path, "key", 1.0, depth=1)))
        else:
            left_old.append(o)
    left_new = list(by_key.values())

    # Relocated: the same kind and culprit method once the package is dropped, one on each side.
    old_by_name, new_by_name = _by_culprit_name(left_old), _by_culprit_name(left_new)
    paired = set()
    for name, olds in old_by_name.items():
        news = new_by_name.get(name, [])
        if len(olds) == 1 and len(news) == 1:
            pairs.append((olds[0], news[0], evidence(olds[0].top_path, news[0].top_path, "relocated", 1.0, depth=1)))
            paired.update((id(olds[0]), id(news[0])))
    left_old = [f for f in left_old if id(f) not in paired and f.unreleased]
    left_new = [f for f in left_new if id(f) not in paired]

    # Similarity, in buckets: a family and a culprit's simple class, or its method.
    buckets: dict[tuple, list[MergedFinding]] = {}
    for o in left_old:
        for bucket in _buckets(o):
            buckets.setdefault(bucket, []).append(o)
    contexts = {id(f): context(f.top_path) for f in left_old + left_new}
    scored = []
    for n in left_new:
        if not n.unreleased:
            continue
        candidates = {id(o): o for bucket in _buckets(n) for o in buckets.get(bucket, [])[:BUCKET_CAP]}
        for o in candidates.values():
            score = similarity(contexts[id(o)], contexts[id(n)])
            if score >= min_score:
                scored.append((-score, o.key, n.key, o, n))
    done = set()
    for negative, _, _, o, n in sorted(scored, key=lambda s: s[:3]):
        if id(o) not in done and id(n) not in done:
            done.update((id(o), id(n)))
            pairs.append((o, n, evidence(o.top_path, n.top_path, "similarity", -negative)))
    taken = {id(f) for o, n, _ in pairs for f in (o, n)}
    return (pairs + [(o, None, None) for o in old if id(o) not in taken]
            + [(None, n, None) for n in new if id(n) not in taken])


def _by_culprit_name(findings: list[MergedFinding]) -> dict[str, list[MergedFinding]]:
    grouped: dict[str, list[MergedFinding]] = {}
    for f in findings:
        if f.culprit:
            grouped.setdefault(f"{simple_kind(f.kind)}@{reduce_frame(f.culprit)}", []).append(f)
    return grouped


def _buckets(f: MergedFinding) -> list[tuple]:
    if not f.culprit:
        return []
    cls, method, _, _ = parse_frame(f.culprit)
    return [(f.family, "class", cls.rpartition(".")[2]), (f.family, "method", method)]


def _side_doc(side: Side, units) -> dict:
    return {"name": side.name, "label": side.label, "sources": list(dict.fromkeys(rf.source for rf in side.runs)),
            "units": units, "jvms": [dict(rf.run, db=rf.source) for rf in side.runs]}


def _figures(f: MergedFinding | None, units: float | None) -> dict | None:
    if f is None:
        return None
    figures = {"culprit": f.culprit, "culprits": f.culprits, **{key: f.total(key) for key in FIGURES},
               "bytes": f.total("bytes_leaked") + f.total("bytes_held"), "paths": len(f.paths), "jvms": f.jvms,
               "sources": f.sources}
    figures["per_unit"] = ({key: round(figures[key] / units, 6) for key in ("opened", "leaked", "held", "bytes")}
                           if units else None)
    return figures


def _measure(figures: dict | None, units) -> tuple[float, float]:
    """(objects unreleased, bytes unreleased), per unit when units are known."""
    if figures is None:
        return 0.0, 0.0
    objects, size = figures["leaked"] + figures["held"], figures["bytes"]
    if units:
        per = figures["per_unit"]
        objects, size = per["leaked"] + per["held"], per["bytes"]
    return objects, size


def _moved(old: dict, new: dict, units, tolerance: float) -> bool:
    return any(abs(n - o) > tolerance * o for o, n in zip(_measure(old, units), _measure(new, units)))


def _ratio(old: dict, new: dict, units) -> float | None:
    """New unreleased bytes over old (per unit when units are known)."""
    o, n = _measure(old, units)[1], _measure(new, units)[1]
    return round(n / o, 3) if o else None
