"""Before and after a release: the leak sites of two runs, matched by signature (see
signature.py), sorted into fixed, new, changed (still leaking, size moved) and unchanged.

A run is named `DB[:RUN]`: `audit.db` (its latest run), `audit.db:3` (run 3), `audit.db:2.1.8`
(the latest run labelled 2.1.8), `audit.db:label=17` (a label made of digits); `:RUN` alone
means a run of the other side's database.
"""

import difflib
from dataclasses import dataclass
from pathlib import Path

from .errors import UnclosedError
from .report import RunReport, read_report
from .signature import (MIN_SCORE, SIGNATURE_FRAMES, evidence, line_of, reduce_frame, signature, signature_id,
                        similarity)
from .store import Store

NEW_SITES_FOUND = 4  # exit code of `diff --fail-on-new` when the new run has new leak sites
TOLERANCE = 0.10  # a still-leaking site whose figures move by more than this share has changed
CATEGORIES = ("new", "fixed", "changed", "unchanged")
FIGURES = ("opened", "released", "leaked", "held", "bytes_leaked", "bytes_held")


@dataclass
class RunRef:
    """One side of a diff: a database and which of its runs."""
    db: Path
    selector: str | None = None  # None: the latest run

    @classmethod
    def parse(cls, text: str, other_db: Path | None = None) -> "RunRef":
        """`audit.db`, `audit.db:2.1.8`, `audit.db:3`, `:2.1.9` (with `other_db`). A path that
        exists as a whole wins over a split at `:`, so paths with colons work."""
        if text.startswith(":"):
            if other_db is None:
                raise UnclosedError(f"{text!r} names no database: write DB{text}")
            return cls(other_db, text[1:] or None)
        if Path(text).is_file():
            return cls(Path(text))
        parts = text.split(":")
        for cut in range(len(parts) - 1, 0, -1):
            db = Path(":".join(parts[:cut]))
            if db.is_file():
                return cls(db, ":".join(parts[cut:]) or None)
        raise UnclosedError(f"no database {text.split(':')[0]!r}: name a run as DB, DB:RUN_ID or DB:LABEL")

    def resolve(self, store: Store) -> dict:
        """The run this names in `store`."""
        return store.run_by_selector(self.selector)


@dataclass
class RunDiff:
    """A diff as its writers take it: the document `diff --format json` prints, and the two
    runs it compares."""
    document: dict
    old: RunReport
    new: RunReport


def run_name(run: dict) -> str:
    """How a run is called in headers: its label, else `run N`."""
    return run.get("label") or f"run {run['id']}"


def parse_units(values, old_run: dict, new_run: dict) -> tuple[float, float] | None:
    """`--per` values: `N` (both runs), `old=N`, `new=N` or `LABEL=N`. Returns (old, new) units."""
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
            targets = [side for side, run in (("old", old_run), ("new", new_run)) if run.get("label") == key]
            if not targets:
                raise UnclosedError(f"--per {value!r}: neither run is labelled {key!r} "
                                    f"(they are {run_name(old_run)!r} and {run_name(new_run)!r}; or say old= / new=)")
        for side in targets:
            units[side] = amount
    missing = [side for side, amount in units.items() if amount is None]
    if missing:
        raise UnclosedError(f"--per gives no units for the {missing[0]} run: add --per {missing[0]}=N")
    return units["old"], units["new"]


def read_diff(old_store: Store, old_ref: RunRef, new_store: Store, new_ref: RunRef, per=(), unit: str = "unit",
              depth: int = SIGNATURE_FRAMES, min_score: float = MIN_SCORE, tolerance: float = TOLERANCE,
              timeline: bool = False) -> RunDiff:
    """Reads the two runs (every site of each; with `timeline`, their timelines too) and compares them."""
    old_run, new_run = old_ref.resolve(old_store), new_ref.resolve(new_store)
    old = read_report(old_store, old_run["id"], include_clean=True, timeline=timeline)
    new = read_report(new_store, new_run["id"], include_clean=True, timeline=timeline)
    return RunDiff(diff_runs(old, new, per, unit, depth, min_score, tolerance), old, new)


def diff_runs(old: RunReport, new: RunReport, per=(), unit: str = "unit", depth: int = SIGNATURE_FRAMES,
              min_score: float = MIN_SCORE, tolerance: float = TOLERANCE) -> dict:
    """Compares two runs, each read with every site (include_clean); returns the document
    `diff --format json` prints (README: "Before and after a release")."""
    units = parse_units(per, old.run, new.run)
    pairs = match_sites(old.sites, new.sites, depth, min_score)
    result = {
        "runs": {"old": _run_doc(old, units and units[0]), "new": _run_doc(new, units and units[1])},
        "per": {"unit": unit, "old": units[0], "new": units[1]} if units else None,
        "rule": {"signature_frames": depth, "min_score": min_score, "tolerance": tolerance},
        "summary": {},
        **{category: [] for category in CATEGORIES},
    }
    for old_site, new_site, how, score in pairs:
        old_unreleased, new_unreleased = _unreleased(old_site), _unreleased(new_site)
        if not old_unreleased and not new_unreleased:
            continue
        category = "new" if not old_unreleased else "fixed" if not new_unreleased else "still"
        site = old_site if category == "fixed" else new_site  # where it leaks: the site as `report` lists it
        sig = signature(site, depth)
        item = dict(site, signature=sig, signature_id=signature_id(sig),
                    old=_figures(old_site, units and units[0]), new=_figures(new_site, units and units[1]),
                    match=evidence(old_site, new_site, how, score, depth) if old_site and new_site else None)
        if category == "still":
            item["ratio"] = _ratio(item["old"], item["new"], units)
            category = "changed" if _moved(item["old"], item["new"], units, tolerance) else "unchanged"
        result[category].append(item)
    by_bytes = lambda side: (lambda item: -(item[side]["bytes"] if item[side] else 0))
    result["new"].sort(key=by_bytes("new"))
    result["fixed"].sort(key=by_bytes("old"))
    result["changed"].sort(key=lambda item: -abs(_measure(item["new"], units)[1] - _measure(item["old"], units)[1]))
    result["unchanged"].sort(key=by_bytes("new"))
    result["summary"] = {category: len(result[category]) for category in CATEGORIES}
    return result


def match_sites(old_sites: list[dict], new_sites: list[dict], depth: int = SIGNATURE_FRAMES,
                min_score: float = MIN_SCORE) -> list[tuple]:
    """Pairs the creation sites of two runs, one to one: (old, new, how, score), where how is
    `signature` (equal signatures), `similarity` (score >= min_score) or None (unpaired; one
    side is None).

    Sites with equal signatures pair first; when several share one (two lines of one method),
    the pairs that agree on more frames come first, then those in the same order of lines.
    Sites still unpaired that leak or hold something on both sides then pair by similarity,
    best first."""
    old_sigs = [signature(s, depth) for s in old_sites]
    new_sigs = [signature(s, depth) for s in new_sites]
    old_rank = _line_ranks(old_sites, old_sigs)
    new_rank = _line_ranks(new_sites, new_sigs)
    by_sig: dict[str, list[int]] = {}
    for j, sig in enumerate(new_sigs):
        by_sig.setdefault(sig, []).append(j)
    candidates = []
    for i, sig in enumerate(old_sigs):
        for j in by_sig.get(sig, ()):
            candidates.append((-similarity_full(old_sites[i], new_sites[j]), abs(old_rank[i] - new_rank[j]),
                               abs((line_of(old_sites[i].get("culprit")) or 0) - (line_of(new_sites[j].get("culprit")) or 0)),
                               i, j))
    pairs, old_done, new_done = [], set(), set()
    for *_, i, j in sorted(candidates):
        if i not in old_done and j not in new_done:
            old_done.add(i)
            new_done.add(j)
            pairs.append((old_sites[i], new_sites[j], "signature", 1.0))

    left_old = [i for i in range(len(old_sites)) if i not in old_done and _unreleased(old_sites[i])]
    left_new = [j for j in range(len(new_sites)) if j not in new_done and _unreleased(new_sites[j])]
    fuzzy = sorted(((-similarity(old_sites[i], new_sites[j]), i, j) for i in left_old for j in left_new))
    for negative, i, j in fuzzy:
        if -negative >= min_score and i not in old_done and j not in new_done:
            old_done.add(i)
            new_done.add(j)
            pairs.append((old_sites[i], new_sites[j], "similarity", -negative))

    pairs += [(site, None, None, None) for i, site in enumerate(old_sites) if i not in old_done]
    pairs += [(None, site, None, None) for j, site in enumerate(new_sites) if j not in new_done]
    return pairs


def similarity_full(old: dict, new: dict) -> float:
    """How many of the two whole stacks' reduced frames line up (0 to 1): tells apart sites
    that share a signature."""
    a = [reduce_frame(f) for f in old.get("frames") or []]
    b = [reduce_frame(f) for f in new.get("frames") or []]
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio() if a or b else 1.0


def _line_ranks(sites: list[dict], sigs: list[str]) -> list[int]:
    """Each site's place, by culprit line, among the sites of its signature."""
    ranks = [0] * len(sites)
    groups: dict[str, list[int]] = {}
    for i, sig in enumerate(sigs):
        groups.setdefault(sig, []).append(i)
    for members in groups.values():
        members.sort(key=lambda i: (line_of(sites[i].get("culprit")) or 0, sites[i]["site_id"]))
        for rank, i in enumerate(members):
            ranks[i] = rank
    return ranks


def _unreleased(site: dict | None) -> bool:
    return bool(site and (site["leaked"] or site["held"]))


def _figures(site: dict | None, units: float | None) -> dict | None:
    if site is None:
        return None
    figures = {"run": site["run"], "site_id": site["site_id"], "culprit": site["culprit"],
               **{key: site[key] for key in FIGURES}, "bytes": site["bytes_leaked"] + site["bytes_held"]}
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


def _run_doc(report: RunReport, units) -> dict:
    return {**report.run, "db": str(report.db), "name": run_name(report.run), "units": units}
