"""The CI gate: which recorded sites fail a build, and baselines that let a team adopt the gate
on an old codebase. It judges records (each run with its sites: gate_source.py reads them);
renderers/gate.py writes the verdict for CI."""

import json
from dataclasses import dataclass, field
from pathlib import Path

from .errors import UnclosedError
from .signature import baseline_key

GATE_FAILED = 3  # exit code: the command succeeded, but a failing kind leaked or was held at exit
BASELINE_FORMAT = 1
BASELINE_RULE = "kind, and the class and method of the culprit frame (line numbers ignored)"

RunSites = tuple[dict, list[dict]]  # a run and its sites (Store.site_findings)


def parse_fail_on(text: str) -> list[str]:
    """`zlib`, `GZIPOutputStream`, `zlib,java.util.zip.Inflater`: families or kinds."""
    selectors = [part.strip() for part in text.split(",") if part.strip()]
    if not selectors:
        raise UnclosedError("--fail-on needs a family (zlib) or a kind (GZIPOutputStream), comma separated")
    return selectors


def selected(site: dict, selectors: list[str]) -> bool:
    kind = site["kind"] or ""
    return any(s == site["family"] or s == kind or kind.endswith("." + s) for s in selectors)


@dataclass
class GateResult:
    failing: list = field(default_factory=list)    # (run, site) pairs that fail the gate
    baselined: list = field(default_factory=list)  # (run, site) pairs a baseline excuses
    unjudged_runs: list = field(default_factory=list)  # runs whose JVM did not exit normally
    runs: list = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failing


def evaluate(runs: list[RunSites], fail_on: list[str], baseline: set[str] | None = None) -> GateResult:
    """A site fails when objects of a selected kind leaked, or were still held when its JVM
    exited normally. For a JVM that was killed, or is still running, held objects are not
    judged (nobody can say they would not have been released); leaks still are."""
    result = GateResult()
    for run, sites in runs:
        result.runs.append(run)
        exited = bool(run.get("exit_ms"))
        if not exited:
            result.unjudged_runs.append(run)
        for site in sites:
            if not selected(site, fail_on) or not (site["leaked"] or (exited and site["held"])):
                continue
            (result.baselined if baseline and baseline_key(site) in baseline else result.failing).append((run, site))
    return result


def write_baseline(runs: list[RunSites], fail_on: list[str], path) -> int:
    """Writes today's failing sites as a baseline; returns how many."""
    sites = {}
    for _, site in evaluate(runs, fail_on).failing:
        key = baseline_key(site)
        entry = sites.setdefault(key, {"signature": key, "kind": site["kind"], "culprit": site["culprit"],
                                       "leaked": 0, "held": 0})
        entry["leaked"] += site["leaked"]
        entry["held"] += site["held"]
    Path(path).write_text(json.dumps({"unclosed_baseline": BASELINE_FORMAT, "matches_by": BASELINE_RULE,
                                      "sites": sorted(sites.values(), key=lambda s: s["signature"])}, indent=2) + "\n")
    return len(sites)


def read_baseline(path) -> set[str]:
    """The keys (signature.baseline_key) of the sites a baseline file excuses."""
    try:
        data = json.loads(Path(path).read_text())
        if data.get("unclosed_baseline") != BASELINE_FORMAT:
            raise ValueError("not an unclosed baseline")
        return {site["signature"] for site in data["sites"]}
    except FileNotFoundError:
        raise UnclosedError(f"no baseline file {path}") from None
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise UnclosedError(f"{path} is not an unclosed baseline (write one with `unclosed baseline`): {e}") from None
